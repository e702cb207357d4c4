"""All configuration, read once from the environment into one validated model.

A missing or malformed setting raises ``SettingsError`` naming the variable, so a
misconfigured Lambda fails at cold start instead of on its first request.
"""

from __future__ import annotations

import os
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


class SettingsError(RuntimeError):
    pass


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    # Database: a URL (local, CI) or, in AWS, a Secrets Manager secret holding the URL.
    # With neither, the local commands start the embedded Postgres under data_dir.
    database_url: str | None = Field(None, alias="DATABASE_URL")
    database_url_secret_arn: str | None = Field(None, alias="DATABASE_URL_SECRET_ARN")
    # Server-side prepared statements (db.py); false for a transaction pooler that cannot route them.
    database_prepared_statements: bool = Field(True, alias="DATABASE_PREPARED_STATEMENTS")

    jwt_secret: str | None = Field(None, alias="JWT_SECRET")
    jwt_secret_arn: str | None = Field(None, alias="JWT_SECRET_ARN")
    # Locally, keys accepted but no longer used to sign (comma-separated): after a rotation, the old
    # JWT_SECRET goes here until the longest token lifetime has passed. In AWS: the secret's AWSPREVIOUS.
    jwt_previous_secrets: list[str] = Field(default_factory=list, alias="JWT_PREVIOUS_SECRETS")
    access_token_ttl_seconds: int = Field(15 * 60, alias="ACCESS_TOKEN_TTL_SECONDS", gt=0)
    refresh_token_ttl_seconds: int = Field(7 * 24 * 3600, alias="REFRESH_TOKEN_TTL_SECONDS", gt=0)

    # "rotate": every refresh returns a new pair and a reused token revokes its family, except a
    # repeat within the grace (a retry, two tabs). "off": Django REST's default, the refresh token
    # stays valid until it expires or is logged out and a refresh returns only {"access"}.
    refresh_token_rotation: Literal["rotate", "off"] = Field("rotate", alias="REFRESH_TOKEN_ROTATION")
    refresh_token_reuse_grace_seconds: int = Field(30, alias="REFRESH_TOKEN_REUSE_GRACE_SECONDS", ge=0)
    # argon2id's parameters: RFC 9106's low-memory profile (64 MiB, 3 passes, 4 lanes; ~170 ms a
    # hash here). "cheapest" is argon2-cffi's profile for test suites (~1 ms), refused in Lambda.
    password_hashing: Literal["rfc9106-low-memory", "cheapest"] = Field("rfc9106-low-memory", alias="PASSWORD_HASHING")

    # Requests a minute; 0 turns a limit off.
    rate_limit_login_per_username: int = Field(10, alias="RATE_LIMIT_LOGIN_PER_USERNAME", ge=0)
    rate_limit_login_per_address: int = Field(10, alias="RATE_LIMIT_LOGIN_PER_ADDRESS", ge=0)
    rate_limit_refresh_per_address: int = Field(30, alias="RATE_LIMIT_REFRESH_PER_ADDRESS", ge=0)
    rate_limit_register_per_address: int = Field(5, alias="RATE_LIMIT_REGISTER_PER_ADDRESS", ge=0)
    rate_limit_predict_per_user: int = Field(30, alias="RATE_LIMIT_PREDICT_PER_USER", ge=0)
    rate_limit_alert_writes_per_user: int = Field(60, alias="RATE_LIMIT_ALERT_WRITES_PER_USER", ge=0)
    rate_limit_orders_per_user: int = Field(10, alias="RATE_LIMIT_ORDERS_PER_USER", ge=0)

    cors_allowed_origins: list[str] = Field(default_factory=list, alias="CORS_ALLOWED_ORIGINS")

    data_dir: Path = Field(Path(".tickerwatch"), alias="TICKERWATCH_DATA_DIR")
    # The built web client that `tickerwatch serve` serves at /; unset: web/dist of the checkout.
    web_dir: Path | None = Field(None, alias="TICKERWATCH_WEB_DIR")
    # yfinance in Lambda; run from a checkout beside ../shared/data, the replayed market (below).
    market_data: str = Field("yfinance", alias="TICKERWATCH_MARKET_DATA")
    replay_seed: int = Field(7, alias="TICKERWATCH_REPLAY_SEED")
    # How often the always-open replay (anytime:DIR) takes a step.
    replay_step_seconds: int = Field(5, alias="TICKERWATCH_REPLAY_STEP_SECONDS", ge=1, le=60)
    # How often prices are fetched during a session. In AWS the schedule invokes fetch_prices each
    # minute and it fetches again within the minute every so many seconds (default 60: once; see
    # docs/decisions.md for why); locally the server's scheduler runs it this often. Unset locally:
    # each step of the always-open replay, every minute with the calendar-true one, else 30 minutes.
    fetch_interval_seconds: int | None = Field(
        None, validation_alias=AliasChoices("FETCH_INTERVAL_SECONDS", "TICKERWATCH_FETCH_INTERVAL_SECONDS"), gt=0
    )
    # Where fetch_prices announces changed prices (EventBridge, in AWS); unset: in process.
    event_bus_name: str | None = Field(None, alias="EVENT_BUS_NAME")
    # AppSync Events' HTTP publish endpoint (https://{domain}/event); `tickerwatch serve` points it at
    # its own emulation. Unset: nothing is published live (clients poll).
    events_http_url: str | None = Field(None, alias="EVENTS_HTTP_URL")
    aws_region: str | None = Field(None, alias="AWS_REGION")
    lambda_function_name: str | None = Field(None, alias="AWS_LAMBDA_FUNCTION_NAME")
    max_price_age_minutes: int = Field(120, alias="TICKERWATCH_MAX_PRICE_AGE_MINUTES", gt=0)
    # A new paper-trading account's play money (and what a reset returns it to).
    paper_starting_cash: Decimal = Field(
        Decimal(100000), alias="TICKERWATCH_PAPER_STARTING_CASH", gt=0, le=Decimal(10) ** 12, decimal_places=2
    )
    model_path: Path | None = Field(None, alias="TICKERWATCH_MODEL_PATH")
    direction_model_path: Path | None = Field(None, alias="TICKERWATCH_DIRECTION_MODEL_PATH")
    # In AWS the predict function invokes fetch_prices to backfill an unseen ticker; locally
    # (unset) the same job runs in process.
    fetch_prices_function: str | None = Field(None, alias="FETCH_PRICES_FUNCTION_NAME")

    email_backend: Literal["log", "ses", "smtp"] = Field("log", alias="TICKERWATCH_EMAIL_BACKEND")
    email_from: str = Field("alerts@tickerwatch.local", alias="TICKERWATCH_EMAIL_FROM")
    smtp_url: str | None = Field(None, alias="TICKERWATCH_SMTP_URL")
    email_max_attempts: int = Field(8, alias="TICKERWATCH_EMAIL_MAX_ATTEMPTS", gt=0)
    # The provider's sending quota (SES's default for a production account is 14 a second).
    email_send_rate: float = Field(14.0, alias="TICKERWATCH_EMAIL_SEND_RATE", gt=0)
    email_concurrency: int | None = Field(None, alias="TICKERWATCH_EMAIL_CONCURRENCY", gt=0, le=256)
    # Webhooks go to public https addresses only; true lets a local receiver (http, loopback,
    # private networks) take them, for development.
    webhook_allow_private: bool = Field(False, alias="TICKERWATCH_WEBHOOK_ALLOW_PRIVATE")
    webhook_timeout_seconds: float = Field(5.0, alias="TICKERWATCH_WEBHOOK_TIMEOUT_SECONDS", gt=0, le=30)

    @field_validator("cors_allowed_origins", "jwt_previous_secrets", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("market_data")
    @classmethod
    def _known_provider(cls, value: str) -> str:
        prefixes = ("csv:", "replay:", "anytime:")
        if value == "yfinance" or any(value.startswith(p) and len(value) > len(p) for p in prefixes):
            return value
        raise ValueError("must be 'yfinance', 'csv:DIR', 'replay:DIR' or 'anytime:DIR'")

    @property
    def session_fetch_interval_seconds(self) -> int:
        """In AWS: how often fetch_prices fetches within each scheduled minute."""
        return self.fetch_interval_seconds or 60

    @property
    def always_open(self) -> bool:
        """The prices move at any hour: the local replay that holds a session now."""
        return self.market_data.startswith("anytime:")

    @property
    def local_fetch_interval_seconds(self) -> int:
        if self.fetch_interval_seconds:
            return self.fetch_interval_seconds
        if self.market_data.startswith("anytime:"):
            return self.replay_step_seconds
        return 60 if self.market_data.startswith("replay:") else 30 * 60

    @model_validator(mode="after")
    def _smtp_needs_url(self) -> Settings:
        if self.email_backend == "smtp" and not self.smtp_url:
            raise ValueError("TICKERWATCH_SMTP_URL is required when TICKERWATCH_EMAIL_BACKEND=smtp")
        return self


def default_market_data(env: dict[str, str]) -> str:
    """yfinance in Lambda or anywhere without the shared price files; from a checkout with
    ../shared/data beside it, the replayed market that is open at any hour."""
    if env.get("AWS_LAMBDA_FUNCTION_NAME"):
        return "yfinance"
    for folder in (Path.cwd(), *Path.cwd().parents):
        if (folder / "functions").is_dir() and (folder.parent / "shared" / "data").is_dir():
            return f"anytime:{(folder.parent / 'shared' / 'data').resolve()}"
    return "yfinance"


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if environ is None else environ)
    if not env.get("TICKERWATCH_MARKET_DATA"):
        env["TICKERWATCH_MARKET_DATA"] = default_market_data(env)
    try:
        settings = Settings.model_validate({k: v for k, v in env.items() if v != ""})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = error["loc"][0] if error["loc"] else None
            name = Settings.model_fields[field].alias if field in Settings.model_fields else field
            problems.append(f"{name or 'settings'}: {error['msg']}")
        raise SettingsError("invalid configuration: " + "; ".join(problems)) from None
    if settings.password_hashing == "cheapest" and env.get("AWS_LAMBDA_FUNCTION_NAME"):
        raise SettingsError("invalid configuration: PASSWORD_HASHING=cheapest is for test suites, never in Lambda")
    return settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
