"""Process-wide resources built from the settings: the database and the signing secret.

In AWS both secrets come from Secrets Manager through Powertools Parameters (fetched on
first use, cached per execution environment). Locally they come from the environment, or,
when unset, from the embedded Postgres and a generated secret kept beside its data.
"""

from __future__ import annotations

import math
import os
import secrets
import threading
import time
from functools import lru_cache
from pathlib import Path

from tickerwatch.db import Database
from tickerwatch.observability import logger
from tickerwatch.settings import Settings, get_settings
from tickerwatch.signing import SigningKeys

SECRET_MAX_AGE_SECONDS = 300


def _secret_from_aws(arn: str) -> str:
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_secret(arn, max_age=SECRET_MAX_AGE_SECONDS)
    return value.decode() if isinstance(value, bytes) else str(value)


def resolve_database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    if settings.database_url_secret_arn:
        return _secret_from_aws(settings.database_url_secret_arn)
    from tickerwatch.embedded import embedded_database_url

    return embedded_database_url(settings.data_dir)


def resolve_jwt_secret(settings: Settings) -> str:
    if settings.jwt_secret:
        return settings.jwt_secret
    if settings.jwt_secret_arn:
        return _secret_from_aws(settings.jwt_secret_arn)
    path = settings.data_dir / "jwt-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # O_EXCL: two processes starting together must not end up with different secrets
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
            logger.info("generated a local JWT signing secret", extra={"path": str(path)})
    value = path.read_text().strip()
    if not value:
        raise RuntimeError(f"{path} is empty; delete it and a new secret is generated")
    return value


@lru_cache(maxsize=1)
def get_database() -> Database:
    settings = get_settings()
    database = Database(
        lambda: resolve_database_url(settings), prepared_statements=settings.database_prepared_statements
    )
    _register_snapstart_hook(database)
    return database


def jwt_signing_keys() -> SigningKeys:
    settings = get_settings()
    if settings.jwt_secret_arn and not settings.jwt_secret:
        return _aws_signing_keys(settings.jwt_secret_arn)
    return _local_signing_keys(settings.jwt_secret, settings.data_dir, tuple(settings.jwt_previous_secrets))


def reload_jwt_signing_keys() -> SigningKeys:
    """The keys fetched again, for a token whose key id is unknown: in AWS a rotation may have
    happened since they were cached. At most once every RELOAD_MIN_SECONDS, so tokens with made-up
    ids cannot turn into a stream of Secrets Manager calls."""
    settings = get_settings()
    if settings.jwt_secret_arn and not settings.jwt_secret:
        return _aws_signing_keys(settings.jwt_secret_arn, reload=True)
    return _local_signing_keys(settings.jwt_secret, settings.data_dir, tuple(settings.jwt_previous_secrets))


@lru_cache(maxsize=4)
def _local_signing_keys(secret: str | None, data_dir: Path, previous: tuple[str, ...]) -> SigningKeys:
    return SigningKeys(resolve_jwt_secret(get_settings()), previous)


RELOAD_MIN_SECONDS = 30.0
_aws_keys: dict[str, tuple[float, SigningKeys]] = {}
_aws_keys_lock = threading.Lock()


def _aws_signing_keys(arn: str, *, reload: bool = False) -> SigningKeys:
    """AWSCURRENT signs; AWSPREVIOUS (absent before the first rotation) is still accepted. Cached for
    SECRET_MAX_AGE_SECONDS like the other secrets (Powertools' cache keys on the name alone, so it
    cannot hold two versions of one secret)."""
    with _aws_keys_lock:
        fetched_at, keys = _aws_keys.get(arn, (-math.inf, None))
        age = time.monotonic() - fetched_at
        if keys is not None and (age < RELOAD_MIN_SECONDS or (age < SECRET_MAX_AGE_SECONDS and not reload)):
            return keys
        client = _secrets_client()
        current = client.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"]
        try:
            previous = (client.get_secret_value(SecretId=arn, VersionStage="AWSPREVIOUS")["SecretString"],)
        except client.exceptions.ResourceNotFoundException:
            previous = ()
        keys = SigningKeys(current, previous)
        _aws_keys[arn] = (time.monotonic(), keys)
        return keys


@lru_cache(maxsize=1)
def _secrets_client():
    import boto3

    return boto3.client("secretsmanager")


def _register_snapstart_hook(database: Database) -> None:
    # A snapshot taken with an open socket restores with a dead one; drop it so the first
    # request after restore reconnects instead of failing and retrying.
    try:
        from snapshot_restore_py import register_after_restore  # present only in Lambda
    except ImportError:
        return
    register_after_restore(database.close_all)


@lru_cache(maxsize=1)
def get_market_data():
    from tickerwatch.market_data import get_market_data as build

    settings = get_settings()
    return build(settings.market_data, settings.replay_seed, settings.replay_step_seconds)


def price_change_publisher():
    """What fetch_prices calls with the symbols whose price moved: EventBridge in AWS, the
    subscribers in this process locally."""
    from tickerwatch.bus import publish_prices_changed

    bus_name = get_settings().event_bus_name
    return lambda symbols: publish_prices_changed(symbols, bus_name)


@lru_cache(maxsize=1)
def get_live_publisher():
    """Where committed changes are pushed to open clients: AppSync Events (signed with the function's
    role in Lambda; unsigned to the local server's emulation), or nowhere when no URL is configured."""
    from tickerwatch.appsync_events import AppSyncEventsPublisher
    from tickerwatch.live import NullPublisher

    settings = get_settings()
    if not settings.events_http_url:
        return NullPublisher()
    region = settings.aws_region if settings.lambda_function_name else None
    return AppSyncEventsPublisher(settings.events_http_url, region)


def live_price_publisher():
    """What fetch_prices calls, after its commit, with the quotes that moved."""
    from tickerwatch.live import price_event

    publisher = get_live_publisher()
    return lambda quotes: publisher.publish([price_event(q.symbol, q.price, q.time) for q in quotes])


def alert_change_announcer():
    """What the alerts function calls after an alert is defined, changed or resumed."""
    from tickerwatch import bus

    bus_name = get_settings().event_bus_name
    return lambda: bus.publish(bus.ALERTS_CHANGED, [{}], bus_name)


def forecast_change_publisher():
    """What forecast_alerts calls with the symbols that have new forecasts."""
    from tickerwatch import bus

    bus_name = get_settings().event_bus_name
    size = bus.MAX_SYMBOLS_PER_EVENT
    return lambda symbols: bus.publish(
        bus.FORECASTS_CHANGED, [{"symbols": symbols[i : i + size]} for i in range(0, len(symbols), size)], bus_name
    )


@lru_cache(maxsize=1)
def get_forecasters():
    """The LSTM and the direction model, loaded once (at init, inside the SnapStart snapshot)."""
    from tickerwatch.direction import DEFAULT_DIRECTION_WEIGHTS, DirectionModel
    from tickerwatch.forecasting import Forecasters
    from tickerwatch.model import DEFAULT_WEIGHTS, LstmModel

    settings = get_settings()
    return Forecasters(
        LstmModel.load(settings.model_path or DEFAULT_WEIGHTS),
        DirectionModel.load(settings.direction_model_path or DEFAULT_DIRECTION_WEIGHTS),
    )


@lru_cache(maxsize=1)
def get_backfill():
    """How the predict function gets an unseen ticker's history: invoke fetch_prices in AWS,
    run the same job in process locally."""
    settings = get_settings()
    if settings.fetch_prices_function:
        return _invoke_fetch_prices(settings.fetch_prices_function)

    from tickerwatch.ingest import fetch_prices

    return lambda symbol: fetch_prices(
        get_database(), get_market_data(), [symbol], backfill=True, on_changed=price_change_publisher()
    ).as_dict()


def _invoke_fetch_prices(function_name: str):
    import json

    import boto3

    client = boto3.client("lambda")

    def backfill(symbol: str) -> dict:
        reply = client.invoke(
            FunctionName=function_name,
            InvocationType="RequestResponse",
            Payload=json.dumps({"tickers": [symbol], "backfill": True}).encode(),
        )
        payload = json.loads(reply["Payload"].read() or b"{}")
        if reply.get("FunctionError"):
            return {
                "succeeded": [],
                "failed": {symbol: f"fetch_prices failed: {payload.get('errorMessage')}"},
            }
        return payload

    return backfill


@lru_cache(maxsize=1)
def get_email_sender():
    from tickerwatch.notifications import build_sender

    settings = get_settings()
    return build_sender(settings.email_backend, settings.email_from, settings.smtp_url)


def get_webhook_poster():
    from tickerwatch.webhooks import WebhookPoster

    settings = get_settings()
    return WebhookPoster(allow_private=settings.webhook_allow_private, timeout_seconds=settings.webhook_timeout_seconds)
