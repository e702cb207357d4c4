"""Price alerts of the signed-in user: create, list, read, change, pause/resume, delete, triggers, and
the webhooks alerts deliver to."""

from fastapi import Depends, Response

from tickerwatch import alerts, webhooks
from tickerwatch.dependencies import Announcer, Db, Poster
from tickerwatch.schemas.alerts import (
    AlertCreate,
    AlertOut,
    AlertPage,
    AlertPatch,
    AlertType,
    NewWebhookOut,
    TriggerOut,
    TriggerPage,
    WebhookIn,
    WebhookOut,
    WebhookTestOut,
)
from tickerwatch.settings import get_settings
from tickerwatch.web import (
    CurrentUser,
    Limit,
    Offset,
    QueryBool,
    ResourceId,
    TickerSymbol,
    create_app,
    documented_errors,
    lambda_handler,
    links,
    throttle,
)

get_settings()  # fail at cold start on bad configuration


ALERT = "/api/v1/alerts/{alert_id:int}/"
ALERT_DOC = "/api/v1/alerts/{alert_id}/"  # as the OpenAPI document writes it
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
    openapi_extra=links(201, "alert_id", ALERT_DOC, ALERT_DOC + "pause/", ALERT_DOC + "resume/"),
)
def create(db: Db, announce: Announcer, body: AlertCreate, user: CurrentUser) -> AlertOut:
    fields = body.model_dump(exclude={"stock_symbol"})
    definition = alerts.AlertDefinition(symbol=body.stock_symbol, **fields)
    created = alerts.create_alert(db, user.id, definition, announce=announce, **_age())
    return AlertOut.of(created)


@app.get("/api/v1/alerts/", response_model=AlertPage)
def list_alerts(
    db: Db,
    user: CurrentUser,
    is_active: QueryBool | None = None,
    stock_symbol: TickerSymbol | None = None,
    alert_type: AlertType | None = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> AlertPage:
    total, rows = alerts.list_alerts(
        db,
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
def triggered(db: Db, user: CurrentUser, limit: Limit = 20, offset: Offset = 0) -> TriggerPage:
    total, rows = alerts.trigger_history(db, user.id, limit, offset)
    return TriggerPage(count=total, limit=limit, offset=offset, results=[TriggerOut.of(r) for r in rows])


@app.get(ALERT, response_model=AlertOut, responses=documented_errors(404))
def read(db: Db, alert_id: ResourceId, user: CurrentUser) -> AlertOut:
    return AlertOut.of(alerts.get_alert(db, user.id, alert_id, **_age()))


@app.patch(ALERT, response_model=AlertOut, responses=documented_errors(404, 409, 422), dependencies=writes)
def update(db: Db, announce: Announcer, alert_id: ResourceId, body: AlertPatch, user: CurrentUser) -> AlertOut:
    changes = body.model_dump(exclude_unset=True)
    updated = alerts.update_alert(db, user.id, alert_id, changes, announce=announce, **_age())
    return AlertOut.of(updated)


@app.delete(ALERT, status_code=204, response_class=Response, responses=documented_errors(404), dependencies=writes)
def delete(db: Db, alert_id: ResourceId, user: CurrentUser) -> Response:
    alerts.delete_alert(db, user.id, alert_id)
    return Response(status_code=204)


@app.post(ALERT + "pause/", response_model=AlertOut, responses=documented_errors(404), dependencies=writes)
def pause(db: Db, alert_id: ResourceId, user: CurrentUser) -> AlertOut:
    return AlertOut.of(alerts.set_paused(db, user.id, alert_id, True, **_age()))


@app.post(ALERT + "resume/", response_model=AlertOut, responses=documented_errors(404, 409), dependencies=writes)
def resume(db: Db, announce: Announcer, alert_id: ResourceId, user: CurrentUser) -> AlertOut:
    resumed = alerts.set_paused(db, user.id, alert_id, False, announce=announce, **_age())
    return AlertOut.of(resumed)


# ---------------------------------------------------------------- webhooks


WEBHOOK = "/api/v1/webhooks/{webhook_id:int}/"


@app.post(
    "/api/v1/webhooks/",
    status_code=201,
    response_model=NewWebhookOut,
    responses=documented_errors(409),
    dependencies=writes,
)
def create_webhook(db: Db, poster: Poster, body: WebhookIn, user: CurrentUser) -> NewWebhookOut:
    return NewWebhookOut.of(webhooks.create_webhook(db, user.id, str(body.url), poster))


@app.get("/api/v1/webhooks/", response_model=list[WebhookOut])
def list_webhooks(db: Db, user: CurrentUser) -> list[WebhookOut]:
    return [WebhookOut.of(w) for w in webhooks.list_webhooks(db, user.id)]


@app.get(WEBHOOK, response_model=WebhookOut, responses=documented_errors(404))
def read_webhook(db: Db, webhook_id: ResourceId, user: CurrentUser) -> WebhookOut:
    return WebhookOut.of(webhooks.get_webhook(db, user.id, webhook_id))


@app.delete(WEBHOOK, status_code=204, response_class=Response, responses=documented_errors(404), dependencies=writes)
def delete_webhook(db: Db, webhook_id: ResourceId, user: CurrentUser) -> Response:
    webhooks.delete_webhook(db, user.id, webhook_id)
    return Response(status_code=204)


@app.post(WEBHOOK + "test/", response_model=WebhookTestOut, responses=documented_errors(404), dependencies=writes)
def test_webhook(db: Db, poster: Poster, webhook_id: ResourceId, user: CurrentUser) -> WebhookTestOut:
    """Sends a signed `webhook.test` message now and says what the receiver answered."""
    d = webhooks.send_test(db, user.id, webhook_id, poster)
    return WebhookTestOut(
        delivered=d.delivered,
        status_code=d.status_code,
        error=d.error,
        response_excerpt=d.excerpt,
        duration_ms=d.duration_ms,
    )


handler = lambda_handler(app)
