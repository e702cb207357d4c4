"""Stocks: the tracked list, tracking a new symbol, a symbol's daily bars, and the user's watchlists."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from tickerwatch import stocks, watchlists
from tickerwatch.data.prices import StockRow
from tickerwatch.runtime import get_database, get_market_data
from tickerwatch.settings import get_settings
from tickerwatch.web import (
    NOT_MODIFIED,
    CurrentUser,
    IsoDate,
    Limit,
    NotNull,
    Offset,
    ResourceId,
    TickerSymbol,
    conditional_json,
    create_app,
    documented_errors,
    lambda_handler,
    throttle,
)

get_settings()


class StockOut(BaseModel):
    symbol: str
    name: str | None
    exchange: str | None
    current_price: Decimal | None
    price_time: datetime | None
    change_pct: float | None

    @classmethod
    def of(cls, row: StockRow) -> "StockOut":
        return cls(**row.__dict__)


class TrackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    symbol: TickerSymbol


class BarOut(BaseModel):
    date: date
    open: float
    high: float
    low: float
    close: float
    adj_close: float
    volume: int


app = create_app("tickerwatch stocks")


@app.get("/api/v1/stocks/", response_model=list[StockOut])
def list_stocks() -> list[StockOut]:
    return [StockOut.of(row) for row in stocks.list_tracked(get_database())]


@app.post(
    "/api/v1/stocks/",
    status_code=201,
    response_model=StockOut,
    responses={200: {"model": StockOut, "description": "Already tracked; nothing fetched"}, **documented_errors(404)},
)
def track(body: TrackRequest, user: CurrentUser, response: Response) -> StockOut:
    tracking = stocks.track_stock(get_database(), get_market_data(), body.symbol)
    if not tracking.created:
        response.status_code = 200
    return StockOut.of(tracking.stock)


@app.get("/api/v1/stocks/{symbol}/prices/", response_model=list[BarOut], responses=documented_errors(404))
def bars(symbol: TickerSymbol, start: IsoDate | None = None, end: IsoDate | None = None) -> list[BarOut]:
    return [
        BarOut(
            date=b.day,
            open=b.open,
            high=b.high,
            low=b.low,
            close=b.close,
            adj_close=b.adj_close,
            volume=b.volume,
        )
        for b in stocks.price_history(get_database(), symbol, start, end)
    ]


# ---------------------------------------------------------------- watchlists

WatchlistName = Annotated[str, Field(min_length=1, max_length=watchlists.MAX_NAME)]
NAME_DOC = "Not blank; unique per user, case-insensitively; spaces around it are dropped."
SYMBOLS_RULES = {
    "max_length": watchlists.MAX_SYMBOLS,
    "description": "Ticker symbols in display order; an untracked one is tracked first (unknown: 400).",
}


class WatchlistIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "EV makers", "symbols": ["TSLA", "GOOG"]}]}
    )
    name: WatchlistName = Field(description=NAME_DOC)
    symbols: list[TickerSymbol] = Field(**SYMBOLS_RULES)


class WatchlistPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: WatchlistName | NotNull = Field(None, description=NAME_DOC)
    # the length rule inside the union: on the union it would be applied to the null branch too
    symbols: Annotated[list[TickerSymbol], Field(max_length=watchlists.MAX_SYMBOLS)] | NotNull = Field(
        None, description=SYMBOLS_RULES["description"]
    )


class WatchedStockOut(BaseModel):
    symbol: str
    name: str | None
    current_price: Decimal | None
    price_time: datetime | None
    change_pct: Decimal | None = Field(description="Percent change since the previous close.")


class WatchlistOut(BaseModel):
    id: int
    name: str
    symbols: list[WatchedStockOut]
    created_at: datetime
    updated_at: datetime


class WatchlistPage(BaseModel):
    count: int
    limit: int
    offset: int
    results: list[WatchlistOut]


WATCHLIST = "/api/v1/watchlists/{watchlist_id:int}/"
watchlist_writes = [Depends(throttle("watchlist-writes", "rate_limit_alert_writes_per_user", by="user"))]


@app.post(
    "/api/v1/watchlists/",
    status_code=201,
    response_model=WatchlistOut,
    responses=documented_errors(409),
    dependencies=watchlist_writes,
)
def create_watchlist(body: WatchlistIn, user: CurrentUser) -> WatchlistOut:
    created = watchlists.create_watchlist(get_database(), get_market_data(), user.id, body.name, body.symbols)
    return WatchlistOut(**created)


@app.get("/api/v1/watchlists/", response_model=WatchlistPage, responses=NOT_MODIFIED)
def list_watchlists(request: Request, user: CurrentUser, limit: Limit = 20, offset: Offset = 0) -> Response:
    total, rows = watchlists.list_watchlists(get_database(), user.id, limit, offset)
    page = WatchlistPage(count=total, limit=limit, offset=offset, results=[WatchlistOut(**r) for r in rows])
    return conditional_json(request, page)


@app.get(WATCHLIST, response_model=WatchlistOut, responses={**NOT_MODIFIED, **documented_errors(404)})
def read_watchlist(request: Request, watchlist_id: ResourceId, user: CurrentUser) -> Response:
    found = watchlists.get_watchlist(get_database(), user.id, watchlist_id)
    return conditional_json(request, WatchlistOut(**found))


@app.patch(WATCHLIST, response_model=WatchlistOut, responses=documented_errors(404, 409), dependencies=watchlist_writes)
def update_watchlist(watchlist_id: ResourceId, body: WatchlistPatch, user: CurrentUser) -> WatchlistOut:
    changes = body.model_dump(exclude_unset=True)
    updated = watchlists.update_watchlist(get_database(), get_market_data(), user.id, watchlist_id, changes)
    return WatchlistOut(**updated)


@app.delete(
    WATCHLIST,
    status_code=204,
    response_class=Response,
    responses=documented_errors(404),
    dependencies=watchlist_writes,
)
def delete_watchlist(watchlist_id: ResourceId, user: CurrentUser) -> Response:
    watchlists.delete_watchlist(get_database(), user.id, watchlist_id)
    return Response(status_code=204)


handler = lambda_handler(app)
