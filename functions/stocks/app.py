"""Stocks: the tracked list, tracking a new symbol, a symbol's daily bars, and the user's watchlists."""

from fastapi import Depends, Request, Response

from tickerwatch import stocks, watchlists
from tickerwatch.dependencies import Db, MarketData
from tickerwatch.schemas.stocks import (
    BarOut,
    StockOut,
    TrackRequest,
    WatchlistIn,
    WatchlistOut,
    WatchlistPage,
    WatchlistPatch,
)
from tickerwatch.settings import get_settings
from tickerwatch.web import (
    NOT_MODIFIED,
    CurrentUser,
    IsoDate,
    Limit,
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


app = create_app("tickerwatch stocks")


@app.get("/api/v1/stocks/", response_model=list[StockOut])
def list_stocks(db: Db) -> list[StockOut]:
    return [StockOut.of(row) for row in stocks.list_tracked(db)]


@app.post(
    "/api/v1/stocks/",
    status_code=201,
    response_model=StockOut,
    responses={200: {"model": StockOut, "description": "Already tracked; nothing fetched"}, **documented_errors(404)},
)
def track(db: Db, market_data: MarketData, body: TrackRequest, user: CurrentUser, response: Response) -> StockOut:
    tracking = stocks.track_stock(db, market_data, body.symbol)
    if not tracking.created:
        response.status_code = 200
    return StockOut.of(tracking.stock)


@app.get("/api/v1/stocks/{symbol}/prices/", response_model=list[BarOut], responses=documented_errors(404))
def bars(db: Db, symbol: TickerSymbol, start: IsoDate | None = None, end: IsoDate | None = None) -> list[BarOut]:
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
        for b in stocks.price_history(db, symbol, start, end)
    ]


# ---------------------------------------------------------------- watchlists


WATCHLIST = "/api/v1/watchlists/{watchlist_id:int}/"
watchlist_writes = [Depends(throttle("watchlist-writes", "rate_limit_alert_writes_per_user", by="user"))]


@app.post(
    "/api/v1/watchlists/",
    status_code=201,
    response_model=WatchlistOut,
    responses=documented_errors(409),
    dependencies=watchlist_writes,
)
def create_watchlist(db: Db, market_data: MarketData, body: WatchlistIn, user: CurrentUser) -> WatchlistOut:
    created = watchlists.create_watchlist(db, market_data, user.id, body.name, body.symbols)
    return WatchlistOut.of(created)


@app.get("/api/v1/watchlists/", response_model=WatchlistPage, responses=NOT_MODIFIED)
def list_watchlists(db: Db, request: Request, user: CurrentUser, limit: Limit = 20, offset: Offset = 0) -> Response:
    total, rows = watchlists.list_watchlists(db, user.id, limit, offset)
    page = WatchlistPage(count=total, limit=limit, offset=offset, results=[WatchlistOut.of(r) for r in rows])
    return conditional_json(request, page)


@app.get(WATCHLIST, response_model=WatchlistOut, responses={**NOT_MODIFIED, **documented_errors(404)})
def read_watchlist(db: Db, request: Request, watchlist_id: ResourceId, user: CurrentUser) -> Response:
    found = watchlists.get_watchlist(db, user.id, watchlist_id)
    return conditional_json(request, WatchlistOut.of(found))


@app.patch(WATCHLIST, response_model=WatchlistOut, responses=documented_errors(404, 409), dependencies=watchlist_writes)
def update_watchlist(
    db: Db, market_data: MarketData, watchlist_id: ResourceId, body: WatchlistPatch, user: CurrentUser
) -> WatchlistOut:
    changes = body.model_dump(exclude_unset=True)
    updated = watchlists.update_watchlist(db, market_data, user.id, watchlist_id, changes)
    return WatchlistOut.of(updated)


@app.delete(
    WATCHLIST,
    status_code=204,
    response_class=Response,
    responses=documented_errors(404),
    dependencies=watchlist_writes,
)
def delete_watchlist(db: Db, watchlist_id: ResourceId, user: CurrentUser) -> Response:
    watchlists.delete_watchlist(db, user.id, watchlist_id)
    return Response(status_code=204)


handler = lambda_handler(app)
