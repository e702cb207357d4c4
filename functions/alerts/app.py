"""Price alerts of the signed-in user: create, list, read, change, pause/resume, delete, triggers, and
the webhooks alerts deliver to."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import Depends, Response
from pydantic import AnyUrl, BaseModel, ConfigDict, Field, StrictBool

from tickerwatch import alerts, webhooks
from tickerwatch.runtime import alert_change_announcer, get_database, get_webhook_poster
from tickerwatch.settings import get_settings
from tickerwatch.web import (
    CurrentUser,
    IsoDateTime,
    Limit,
    NotNull,
    Offset,
    QueryBool,
    ResourceId,
    TickerSymbol,
    create_app,
    documented_errors,
    json_int,
    lambda_handler,
    positive_decimal,
    throttle,
)

get_settings()  # fail at cold start on bad configuration

AlertType = Literal["threshold", "duration", "percent_change", "indicator", "forecast"]
Condition = Literal[
    "above", "below", "crosses_above", "crosses_below", "up", "down", "forecast_above", "forecast_below", "outside_band"
]
Indicator = Literal["sma", "ema"]
Price = positive_decimal(1_000_000, 6, "A price in USD: a JSON number or a numeric string, up to 6 decimals.")
Percent = positive_decimal(1000, 4, "A percentage: a JSON number or a numeric string, up to 4 decimals.")
Minutes = json_int(1, alerts.MAX_SPAN_MINUTES)
Cooldown = json_int(0, alerts.MAX_COOLDOWN_MINUTES)
Period = json_int(alerts.MIN_PERIOD, alerts.MAX_PERIOD)
Horizon = json_int(1, alerts.MAX_HORIZON)
WebhookId = json_int(1, 2**63 - 1)


class AlertOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stock_symbol: TickerSymbol
    recurring: StrictBool = False
    cooldown_minutes: Cooldown = Field(0, description="Recurring alerts only: minutes before it may fire again.")
    expires_at: IsoDateTime | None = Field(None, description="ISO 8601 with a time zone, in the future.")
    webhook_id: WebhookId | None = Field(None, description="One of your webhooks, also told when it fires.")


class ThresholdAlertIn(AlertOptions):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"stock_symbol": "GOOG", "alert_type": "threshold", "condition": "above", "threshold_price": "900"}
            ]
        },
    )
    alert_type: Literal["threshold"]
    condition: Literal["above", "below", "crosses_above", "crosses_below"]
    threshold_price: Price
    duration_minutes: None = None
    percent: None = None
    window_minutes: None = None


class DurationAlertIn(AlertOptions):
    alert_type: Literal["duration"]
    condition: Literal["above", "below"]
    threshold_price: Price
    duration_minutes: Minutes
    percent: None = None
    window_minutes: None = None


class PercentChangeAlertIn(AlertOptions):
    alert_type: Literal["percent_change"]
    condition: Literal["up", "down"]
    percent: Percent
    window_minutes: Minutes
    threshold_price: None = None
    duration_minutes: None = None


class IndicatorAlertIn(AlertOptions):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
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
            ]
        },
    )
    alert_type: Literal["indicator"]
    condition: Literal["above", "below", "crosses_above", "crosses_below"] = Field(
        description="The latest price against indicator(period), or, with other_indicator and other_period,"
        " indicator(period) against other_indicator(other_period). Averages are of the daily closes before the"
        " quote's trading day."
    )
    indicator: Indicator
    period: Period = Field(description="Daily closes averaged; the stock must have at least this many (else 422).")
    other_indicator: Indicator | None = None
    other_period: Period | None = None
    threshold_price: None = None
    duration_minutes: None = None
    percent: None = None
    window_minutes: None = None


class ForecastAlertIn(AlertOptions):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "stock_symbol": "TSLA",
                    "alert_type": "forecast",
                    "condition": "forecast_above",
                    "horizon": 5,
                    "threshold_price": "300",
                },
                {"stock_symbol": "TSLA", "alert_type": "forecast", "condition": "outside_band"},
            ]
        },
    )
    alert_type: Literal["forecast"]
    condition: Literal["forecast_above", "forecast_below", "outside_band"] = Field(
        description="forecast_above/forecast_below: the model's forecast close `horizon` trading days ahead is at"
        " or beyond threshold_price (both required). outside_band: the latest price is outside the 95% band"
        " forecast from the previous daily bar (neither field)."
    )
    threshold_price: Price | None = None
    horizon: Horizon | None = None
    duration_minutes: None = None
    percent: None = None
    window_minutes: None = None


AlertCreate = Annotated[
    ThresholdAlertIn | DurationAlertIn | PercentChangeAlertIn | IndicatorAlertIn | ForecastAlertIn,
    Field(discriminator="alert_type"),
]


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
    def of(cls, row: dict) -> "AlertOut":
        return cls(stock_symbol=row["symbol"], **{k: v for k, v in row.items() if k in ALERT_OUT_FIELDS})


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


TRIGGER_OUT_FIELDS = frozenset(TriggerOut.model_fields)


class TriggerPage(BaseModel):
    count: int
    limit: int
    offset: int
    results: list[TriggerOut]


ALERT = "/api/v1/alerts/{alert_id:int}/"
writes = [Depends(throttle("alert-writes", "rate_limit_alert_writes_per_user", by="user"))]

app = create_app("tickerwatch alerts")


def _age() -> dict[str, int]:
    return {"max_age": get_settings().max_price_age_minutes}


@app.post(
    "/api/v1/alerts/",
    status_code=201,
    response_model=AlertOut,
    responses=documented_errors(404, 409, 422),
    dependencies=writes,
)
def create(body: AlertCreate, user: CurrentUser) -> AlertOut:
    fields = body.model_dump(exclude={"stock_symbol"})
    definition = alerts.AlertDefinition(symbol=body.stock_symbol, **fields)
    created = alerts.create_alert(get_database(), user.id, definition, announce=alert_change_announcer(), **_age())
    return AlertOut.of(created)


@app.get("/api/v1/alerts/", response_model=AlertPage)
def list_alerts(
    user: CurrentUser,
    is_active: QueryBool | None = None,
    stock_symbol: TickerSymbol | None = None,
    alert_type: AlertType | None = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> AlertPage:
    total, rows = alerts.list_alerts(
        get_database(),
        user.id,
        is_active=is_active,
        symbol=stock_symbol,
        alert_type=alert_type,
        limit=limit,
        offset=offset,
        **_age(),
    )
    return AlertPage(count=total, limit=limit, offset=offset, results=[AlertOut.of(r) for r in rows])


@app.get("/api/v1/alerts/triggered/", response_model=TriggerPage)
def triggered(user: CurrentUser, limit: Limit = 20, offset: Offset = 0) -> TriggerPage:
    total, rows = alerts.trigger_history(get_database(), user.id, limit, offset)
    results = [
        TriggerOut(
            stock_symbol=r["symbol"],
            notification={
                "status": r["notification_status"],
                "attempts": r["notification_attempts"],
                "error": r["notification_error"],
                "sent_at": r["notification_sent_at"],
            },
            **{k: v for k, v in r.items() if k in TRIGGER_OUT_FIELDS},
        )
        for r in rows
    ]
    return TriggerPage(count=total, limit=limit, offset=offset, results=results)


@app.get(ALERT, response_model=AlertOut, responses=documented_errors(404))
def read(alert_id: ResourceId, user: CurrentUser) -> AlertOut:
    return AlertOut.of(alerts.get_alert(get_database(), user.id, alert_id, **_age()))


@app.patch(ALERT, response_model=AlertOut, responses=documented_errors(404, 409, 422), dependencies=writes)
def update(alert_id: ResourceId, body: AlertPatch, user: CurrentUser) -> AlertOut:
    changes = body.model_dump(exclude_unset=True)
    updated = alerts.update_alert(
        get_database(), user.id, alert_id, changes, announce=alert_change_announcer(), **_age()
    )
    return AlertOut.of(updated)


@app.delete(ALERT, status_code=204, response_class=Response, responses=documented_errors(404), dependencies=writes)
def delete(alert_id: ResourceId, user: CurrentUser) -> Response:
    alerts.delete_alert(get_database(), user.id, alert_id)
    return Response(status_code=204)


@app.post(ALERT + "pause/", response_model=AlertOut, responses=documented_errors(404), dependencies=writes)
def pause(alert_id: ResourceId, user: CurrentUser) -> AlertOut:
    return AlertOut.of(alerts.set_paused(get_database(), user.id, alert_id, True, **_age()))


@app.post(ALERT + "resume/", response_model=AlertOut, responses=documented_errors(404, 409), dependencies=writes)
def resume(alert_id: ResourceId, user: CurrentUser) -> AlertOut:
    resumed = alerts.set_paused(get_database(), user.id, alert_id, False, announce=alert_change_announcer(), **_age())
    return AlertOut.of(resumed)


# ---------------------------------------------------------------- webhooks


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


class NewWebhookOut(WebhookOut):
    secret: str = Field(description="The signing secret (whsec_...), shown only now; verify deliveries with it.")


class WebhookTestOut(BaseModel):
    delivered: bool
    status_code: int | None
    error: str | None
    response_excerpt: str | None
    duration_ms: int


WEBHOOK = "/api/v1/webhooks/{webhook_id:int}/"


@app.post(
    "/api/v1/webhooks/",
    status_code=201,
    response_model=NewWebhookOut,
    responses=documented_errors(409),
    dependencies=writes,
)
def create_webhook(body: WebhookIn, user: CurrentUser) -> NewWebhookOut:
    return NewWebhookOut(**webhooks.create_webhook(get_database(), user.id, str(body.url), get_webhook_poster()))


@app.get("/api/v1/webhooks/", response_model=list[WebhookOut])
def list_webhooks(user: CurrentUser) -> list[WebhookOut]:
    return [WebhookOut(**w) for w in webhooks.list_webhooks(get_database(), user.id)]


@app.get(WEBHOOK, response_model=WebhookOut, responses=documented_errors(404))
def read_webhook(webhook_id: ResourceId, user: CurrentUser) -> WebhookOut:
    return WebhookOut(**webhooks.get_webhook(get_database(), user.id, webhook_id))


@app.delete(WEBHOOK, status_code=204, response_class=Response, responses=documented_errors(404), dependencies=writes)
def delete_webhook(webhook_id: ResourceId, user: CurrentUser) -> Response:
    webhooks.delete_webhook(get_database(), user.id, webhook_id)
    return Response(status_code=204)


@app.post(WEBHOOK + "test/", response_model=WebhookTestOut, responses=documented_errors(404), dependencies=writes)
def test_webhook(webhook_id: ResourceId, user: CurrentUser) -> WebhookTestOut:
    """Sends a signed `webhook.test` message now and says what the receiver answered."""
    d = webhooks.send_test(get_database(), user.id, webhook_id, get_webhook_poster())
    return WebhookTestOut(
        delivered=d.delivered,
        status_code=d.status_code,
        error=d.error,
        response_excerpt=d.excerpt,
        duration_ms=d.duration_ms,
    )


handler = lambda_handler(app)
