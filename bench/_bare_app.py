"""The load bench's three reads on bare FastAPI: the same work (the token checked and its user read, the same
SQL, the answer as JSON) without our edge (request log context, error boundary, the guarded routes' checks,
response models, the web client's middleware). Everything else (register, token, refresh) is the real API,
mounted behind. bench/load.py serves it beside the real server to show what the edge costs and how many reads
a second the stack itself allows on the machine; it is not a way to run tickerwatch.

    python -m uvicorn _bare_app:app --app-dir bench --workers 3 --port 8798
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from tickerwatch import accounts, alerts, predict
from tickerwatch.local import served_app
from tickerwatch.runtime import get_database
from tickerwatch.settings import get_settings
from tickerwatch.web import token_policy


def _user(request: Request) -> accounts.User:
    token = request.headers.get("authorization", "").partition(" ")[2]
    return accounts.authenticate(get_database(), token_policy(), token)


def _encode(value):
    return value.isoformat() if isinstance(value, datetime) else str(value) if isinstance(value, Decimal) else value


app = FastAPI(openapi_url=None)


@app.get("/api/v1/protected-view/")
async def protected_view(request: Request) -> Response:
    user = await run_in_threadpool(_user, request)
    body = {"status": "Request was permitted", "user": {"id": user.id, "username": user.username, "email": user.email}}
    return Response(json.dumps(body), media_type="application/json")


@app.get("/api/v1/alerts/")
def list_alerts(request: Request, limit: int = 20, offset: int = 0) -> Response:
    user = _user(request)
    total, rows = alerts.list_alerts(
        get_database(),
        user.id,
        is_active=None,
        symbol=None,
        alert_type=None,
        limit=limit,
        offset=offset,
        max_age=get_settings().max_price_age_minutes,
    )
    page = {"count": total, "limit": limit, "offset": offset, "results": [row.__dict__ for row in rows]}
    return Response(json.dumps(page, default=_encode), media_type="application/json")


@app.get("/api/v1/predictions/{prediction_id:int}/")
def prediction(prediction_id: int, request: Request) -> Response:
    user = _user(request)
    return Response(predict.history_detail_json(get_database(), user.id, prediction_id), media_type="application/json")


app.mount("/", served_app())
