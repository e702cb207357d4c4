"""What routes are handed, as FastAPI dependencies: one place names each collaborator a route may
use, and tickerwatch.runtime makes it (from the settings, once where it can be kept).

A route declares what it needs (``db: Db``) and never fetches it; a test swaps a collaborator with
``app.dependency_overrides[database] = ...``. Scheduled jobs get theirs as parameters from their
handler. The providers are ``async`` because they only hand over what runtime made (FastAPI would run a
plain function in its thread pool, one thread hop a request for each), and marked ``collaborator``
so that a read that needs one still verifies the token first and reads the user in its endpoint's
thread (tickerwatch.web.routes): a read's bad query is a 400 before its user is looked up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends

from tickerwatch import runtime
from tickerwatch.db import Database
from tickerwatch.live import Publisher
from tickerwatch.market_data import MarketData as MarketDataSource
from tickerwatch.web.routes import collaborator
from tickerwatch.webhooks import WebhookPoster

if TYPE_CHECKING:  # numpy: only the predict function's layers hold it
    from tickerwatch.forecasting import Forecasters


@collaborator
async def database() -> Database:
    return runtime.get_database()


@collaborator
async def market_data() -> MarketDataSource:
    return runtime.get_market_data()


@collaborator
async def forecasters() -> Forecasters:
    return runtime.get_forecasters()


@collaborator
async def backfill() -> Callable[[str], dict[str, Any]]:
    return runtime.get_backfill()


@collaborator
async def webhook_poster() -> WebhookPoster:
    return runtime.get_webhook_poster()


@collaborator
async def alert_announcer() -> Callable[[], object]:
    return runtime.alert_change_announcer()


@collaborator
async def live_publisher() -> Publisher:
    return runtime.get_live_publisher()


Db = Annotated[Database, Depends(database)]
MarketData = Annotated[MarketDataSource, Depends(market_data)]
Models = Annotated[Any, Depends(forecasters)]  # Forecasters, named only for type checkers (numpy)
Backfill = Annotated[Callable[[str], dict[str, Any]], Depends(backfill)]
Poster = Annotated[WebhookPoster, Depends(webhook_poster)]
Announcer = Annotated[Callable[[], object], Depends(alert_announcer)]
Live = Annotated[Publisher, Depends(live_publisher)]
