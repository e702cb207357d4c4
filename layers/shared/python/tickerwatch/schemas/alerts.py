"""Request and response models of alerts, their triggers and the webhooks they deliver to."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, ClassVar, Literal, Union

from pydantic import AnyUrl, BaseModel, ConfigDict, Field, StrictBool

from tickerwatch import alerts, webhooks
from tickerwatch.alert_kinds import ALERT_TYPES, ALL_CONDITIONS, INDICATORS, KINDS, AlertKind
from tickerwatch.data.alerts import AlertRow, TriggerRow
from tickerwatch.data.webhooks import WebhookRow
from tickerwatch.web import (
    IsoDateTime,
    NotNull,
    TickerSymbol,
    json_int,
    positive_decimal,
)

AlertType = Literal[ALERT_TYPES]
Condition = Literal[ALL_CONDITIONS]
Indicator = Literal[tuple(INDICATORS)]
Price = positive_decimal(1_000_000, 6, "A price in USD: a JSON number or a numeric string, up to 6 decimals.")


Percent = positive_decimal(1000, 4, "A percentage: a JSON number or a numeric string, up to 4 decimals.")


Minutes = json_int(1, alerts.MAX_SPAN_MINUTES)


Cooldown = json_int(0, alerts.MAX_COOLDOWN_MINUTES)


Period = json_int(alerts.MIN_PERIOD, alerts.MAX_PERIOD)


Horizon = json_int(1, alerts.MAX_HORIZON)


WebhookId = json_int(1, 2**63 - 1)


class AlertOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # how the API says a field is not this kind's (tickerwatch.web.routes), as the domain says it
    not_applicable: ClassVar[str] = "This field does not apply to {tag} alerts."
    stock_symbol: TickerSymbol
    recurring: StrictBool = False
    cooldown_minutes: Cooldown = Field(0, description="Recurring alerts only: minutes before it may fire again.")
    expires_at: IsoDateTime | None = Field(None, description="ISO 8601 with a time zone, in the future.")
    webhook_id: WebhookId | None = Field(None, description="One of your webhooks, also told when it fires.")


# A request's type for each field an alert may watch; the kinds say which fields each takes.
FIELD_TYPES = {
    "threshold_price": Price,
    "duration_minutes": Minutes,
    "percent": Percent,
    "window_minutes": Minutes,
    "indicator": Indicator,
    "period": Period,
    "other_indicator": Indicator,
    "other_period": Period,
    "horizon": Horizon,
}
# The first kinds' fields: a kind that takes none of them still accepts each as null, as the API
# always has (the newer fields are refused by name).
NULL_IN_EVERY_KIND = ("threshold_price", "duration_minutes", "percent", "window_minutes")
# What the document says of a kind beyond its declaration.
EXAMPLES = {
    "threshold": [{"stock_symbol": "GOOG", "alert_type": "threshold", "condition": "above", "threshold_price": "900"}],
    "indicator": [
        {
            "stock_symbol": "TSLA",
            "alert_type": "indicator",
            "condition": "crosses_above",
            "indicator": "sma",
            "period": 50,
        },
        {
            "stock_symbol": "TSLA",
            "alert_type": "indicator",
            "condition": "crosses_above",
            "indicator": "sma",
            "period": 50,
            "other_indicator": "sma",
            "other_period": 200,
        },
    ],
    "forecast": [
        {
            "stock_symbol": "TSLA",
            "alert_type": "forecast",
            "condition": "forecast_above",
            "horizon": 5,
            "threshold_price": "300",
        },
        {"stock_symbol": "TSLA", "alert_type": "forecast", "condition": "outside_band"},
    ],
}
DESCRIPTIONS = {
    ("indicator", "condition"): "The latest price against indicator(period), or, with other_indicator and"
    " other_period, indicator(period) against other_indicator(other_period). Averages are of the daily closes"
    " before the quote's trading day.",
    ("indicator", "period"): "Daily closes averaged; the stock must have at least this many (else 422).",
    ("forecast", "condition"): "forecast_above/forecast_below: the model's forecast close `horizon` trading days"
    " ahead is at or beyond threshold_price (both required). outside_band: the latest price is outside the 95% band"
    " forecast from the previous daily bar (neither field).",
}


def _request_model(kind: AlertKind) -> type[AlertOptions]:
    """A kind's request body: its conditions, the fields every one of them needs (required), the
    fields only some need or none requires (optional), and the first kinds' fields as null."""

    def documented(field: str, default: object = ...) -> object:
        return Field(default, description=DESCRIPTIONS.get((kind.name, field)))

    needed_by_all = set.intersection(*(set(kind.fields_for(c.name)) for c in kind.conditions))
    annotations: dict[str, object] = {
        "alert_type": Literal[kind.name],
        "condition": Literal[tuple(c.name for c in kind.conditions)],
    }
    namespace: dict[str, object] = {"condition": documented("condition")}
    for field in kind.accepted:
        if field in needed_by_all:
            annotations[field] = FIELD_TYPES[field]
            namespace[field] = documented(field)
        else:
            annotations[field] = FIELD_TYPES[field] | None
            namespace[field] = documented(field, None)
    for field in NULL_IN_EVERY_KIND:
        if field not in kind.accepted:
            annotations[field] = None
            namespace[field] = None
    if kind.name in EXAMPLES:
        namespace["model_config"] = ConfigDict(extra="forbid", json_schema_extra={"examples": EXAMPLES[kind.name]})
    name = "".join(part.title() for part in kind.name.split("_")) + "AlertIn"
    return type(name, (AlertOptions,), {"__module__": __name__, "__annotations__": annotations, **namespace})


REQUEST_MODELS = {kind.name: _request_model(kind) for kind in KINDS}
AlertCreate = Annotated[Union[tuple(REQUEST_MODELS.values())], Field(discriminator="alert_type")]  # noqa: UP007


class AlertPatch(BaseModel):
    """Only the fields sent are changed (read with exclude_unset, so the defaults never apply). A
    field that cannot be cleared is not nullable in the OpenAPI document (null is a 400)."""

    model_config = ConfigDict(extra="forbid")
    alert_type: AlertType | NotNull = None
    condition: Condition | NotNull = None
    threshold_price: Price | None = None
    duration_minutes: Minutes | None = None
    percent: Percent | None = None
    window_minutes: Minutes | None = None
    indicator: Indicator | None = None
    period: Period | None = None
    other_indicator: Indicator | None = None
    other_period: Period | None = None
    horizon: Horizon | None = None
    recurring: StrictBool | NotNull = None
    cooldown_minutes: Cooldown | NotNull = None
    expires_at: IsoDateTime | None = None
    webhook_id: WebhookId | None = Field(None, description="null stops webhook deliveries.")


class ConditionOut(BaseModel):
    """What an alert watches; shared by alerts and the triggers they leave."""

    stock_symbol: str
    alert_type: str
    condition: str
    threshold_price: Decimal | None
    duration_minutes: int | None
    percent: Decimal | None
    window_minutes: int | None
    indicator: str | None
    period: int | None
    other_indicator: str | None
    other_period: int | None
    horizon: int | None


class AlertOut(ConditionOut):
    id: int
    recurring: bool
    cooldown_minutes: int
    expires_at: datetime | None
    webhook_id: int | None
    is_active: bool
    status: str
    state: Literal[
        "pending", "waiting", "stale_price", "no_price", "no_forecast", "cooling_down", "triggered", "paused", "expired"
    ] = Field(
        description="pending: not judged yet; waiting: judged, condition not met; stale_price: the latest quote is"
        " older than the staleness limit (see quote_age_minutes), so it cannot fire; no_price: the stock has no"
        " quote yet; no_forecast: a forecast alert whose stock has no forecast yet (made after its next daily bar"
        " lands, or at once for a new alert; forecast_error says why when it cannot be made);"
        " cooling_down: a recurring alert that fired and re-arms after its cooldown once the condition"
        " is false again; triggered, paused, expired: as status."
    )
    last_evaluated_at: datetime | None
    last_evaluated_price: Decimal | None
    last_evaluated_quote_at: datetime | None
    current_price: Decimal | None
    price_time: datetime | None
    quote_age_minutes: Decimal | None = Field(description="Age of the stock's latest quote, in market minutes.")
    forecast_error: str | None = Field(None, description="Forecast alerts: why the stock's forecast cannot be made.")
    trigger_count: int
    last_triggered_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: AlertRow) -> "AlertOut":
        return cls(stock_symbol=row.symbol, **{k: v for k, v in row.__dict__.items() if k in ALERT_OUT_FIELDS})


# Read once: pydantic's model_fields is a property that builds its answer on each access (19 us a row).
ALERT_OUT_FIELDS = frozenset(AlertOut.model_fields)


class AlertPage(BaseModel):
    count: int
    limit: int
    offset: int
    results: list[AlertOut]


class TriggerOut(ConditionOut):
    id: int
    alert_id: int | None
    price: Decimal
    quoted_at: datetime
    triggered_at: datetime
    observed_value: Decimal | None = Field(
        None,
        description="Indicator and forecast alerts: what was judged (the price or first average; the forecast"
        " close; the price outside the band).",
    )
    reference_value: Decimal | None = Field(
        None, description="What it was judged against (the average; the threshold; the band edge it passed)."
    )
    notification: dict
    webhook: dict | None = Field(
        description="The webhook delivery when the alert named one: status, attempts, error, and each attempt's"
        " status_code, error and response_excerpt."
    )

    @classmethod
    def of(cls, row: TriggerRow) -> "TriggerOut":
        notification = {
            "status": row.notification_status,
            "attempts": row.notification_attempts,
            "error": row.notification_error,
            "sent_at": row.notification_sent_at,
        }
        fields = {k: v for k, v in row.__dict__.items() if k in TRIGGER_OUT_FIELDS}
        return cls(stock_symbol=row.symbol, notification=notification, **fields)


TRIGGER_OUT_FIELDS = frozenset(TriggerOut.model_fields)


class TriggerPage(BaseModel):
    count: int
    limit: int
    offset: int
    results: list[TriggerOut]


class WebhookIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"url": "https://example.com/hooks/tickerwatch"}]}
    )
    url: AnyUrl = Field(
        description="https, to a public address (private, loopback and link-local targets are refused).",
        json_schema_extra={"maxLength": webhooks.MAX_URL},
    )


class WebhookOut(BaseModel):
    id: int
    url: str
    created_at: datetime

    @classmethod
    def of(cls, row: WebhookRow) -> "WebhookOut":
        return cls(id=row.id, url=row.url, created_at=row.created_at)


class NewWebhookOut(WebhookOut):
    secret: str = Field(description="The signing secret (whsec_...), shown only now; verify deliveries with it.")

    @classmethod
    def of(cls, row: WebhookRow) -> "NewWebhookOut":
        return cls(id=row.id, url=row.url, created_at=row.created_at, secret=row.secret)


class WebhookTestOut(BaseModel):
    delivered: bool
    status_code: int | None
    error: str | None
    response_excerpt: str | None
    duration_ms: int
