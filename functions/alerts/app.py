"""Price alerts of the signed-in user: create, list, read, change, pause/resume, delete, and triggers."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import Query, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from tickerwatch import alerts
from tickerwatch.runtime import get_database
from tickerwatch.settings import get_settings
from tickerwatch.web import CurrentUser, create_app, lambda_handler

get_settings()

AlertType = Literal["threshold", "duration", "percent_change"]
Condition = Literal["above", "below", "crosses_above", "crosses_below", "up", "down"]
Price = Annotated[Decimal, Field(max_digits=18, decimal_places=6)]


class AlertFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    threshold_price: Price | None = None
    duration_minutes: int | None = None
    percent: Annotated[Decimal, Field(max_digits=9, decimal_places=4)] | None = None
    window_minutes: int | None = None
    recurring: bool = False
    cooldown_minutes: int = 0
    expires_at: AwareDatetime | None = None


class AlertCreate(AlertFields):
    stock_symbol: str = Field(min_length=1, max_length=15)
    alert_type: AlertType
    condition: Condition


class AlertPatch(AlertFields):
    """Only the fields sent are changed (read with exclude_unset, so the defaults never apply)."""

    alert_type: AlertType | None = None
    condition: Condition | None = None


class ConditionOut(BaseModel):
    """What an alert watches; shared by alerts and the triggers they leave."""

    stock_symbol: str
    alert_type: str
    condition: str
    threshold_price: Decimal | None
    duration_minutes: int | None
    percent: Decimal | None
    window_minutes: int | None


class AlertOut(ConditionOut):
    id: int
    recurring: bool
    cooldown_minutes: int
    expires_at: datetime | None
    is_active: bool
    status: str
    trigger_count: int
    last_triggered_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: dict) -> "AlertOut":
        return cls(stock_symbol=row["symbol"], **{k: v for k, v in row.items() if k in cls.model_fields})


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
    notification: dict


class TriggerPage(BaseModel):
    count: int
    limit: int
    offset: int
    results: list[TriggerOut]


Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0)]

app = create_app("tickerwatch alerts")


@app.post("/api/v1/alerts/", status_code=201, response_model=AlertOut)
def create(body: AlertCreate, user: CurrentUser) -> AlertOut:
    fields = body.model_dump(exclude={"stock_symbol"})
    definition = alerts.AlertDefinition(symbol=body.stock_symbol, **fields)
    return AlertOut.of(alerts.create_alert(get_database(), user.id, definition))


@app.get("/api/v1/alerts/", response_model=AlertPage)
def list_alerts(
    user: CurrentUser,
    is_active: bool | None = None,
    stock_symbol: str | None = None,
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
            **{k: v for k, v in r.items() if k in TriggerOut.model_fields},
        )
        for r in rows
    ]
    return TriggerPage(count=total, limit=limit, offset=offset, results=results)


@app.get("/api/v1/alerts/{alert_id}/", response_model=AlertOut)
def read(alert_id: int, user: CurrentUser) -> AlertOut:
    return AlertOut.of(alerts.get_alert(get_database(), user.id, alert_id))


@app.patch("/api/v1/alerts/{alert_id}/", response_model=AlertOut)
def update(alert_id: int, body: AlertPatch, user: CurrentUser) -> AlertOut:
    changes = body.model_dump(exclude_unset=True)
    return AlertOut.of(alerts.update_alert(get_database(), user.id, alert_id, changes))


@app.delete("/api/v1/alerts/{alert_id}/", status_code=204, response_class=Response)
def delete(alert_id: int, user: CurrentUser) -> Response:
    alerts.delete_alert(get_database(), user.id, alert_id)
    return Response(status_code=204)


@app.post("/api/v1/alerts/{alert_id}/pause/", response_model=AlertOut)
def pause(alert_id: int, user: CurrentUser) -> AlertOut:
    return AlertOut.of(alerts.set_paused(get_database(), user.id, alert_id, True))


@app.post("/api/v1/alerts/{alert_id}/resume/", response_model=AlertOut)
def resume(alert_id: int, user: CurrentUser) -> AlertOut:
    return AlertOut.of(alerts.set_paused(get_database(), user.id, alert_id, False))


handler = lambda_handler(app)
