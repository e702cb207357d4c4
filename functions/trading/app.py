"""Paper trading for the signed-in user: the account (portfolio, reset, equity history) and orders
(submit, list, read, cancel). Resting orders are filled by the process_prices job as quotes move."""

from decimal import Decimal
from typing import Annotated, Literal

from fastapi import Depends, Query, Response

from tickerwatch import trading
from tickerwatch.dependencies import Db, Live, MarketData
from tickerwatch.schemas.trading import (
    EquityPoint,
    OrderIn,
    OrderOut,
    OrderPage,
    PortfolioOut,
)
from tickerwatch.settings import get_settings
from tickerwatch.web import (
    CurrentUser,
    Limit,
    Offset,
    ResourceId,
    TickerSymbol,
    create_app,
    documented_errors,
    lambda_handler,
    links,
    throttle,
)

get_settings()


app = create_app("tickerwatch trading")
order_writes = [Depends(throttle("orders", "rate_limit_orders_per_user", by="user"))]


def _starting_cash() -> Decimal:
    return get_settings().paper_starting_cash


@app.get("/api/v1/portfolio/", response_model=PortfolioOut)
def read_portfolio(db: Db, user: CurrentUser) -> PortfolioOut:
    return PortfolioOut(**trading.portfolio(db, user.id, _starting_cash()))


@app.post("/api/v1/portfolio/reset/", response_model=PortfolioOut)
def reset_portfolio(db: Db, user: CurrentUser, publisher: Live) -> PortfolioOut:
    return PortfolioOut(**trading.reset(db, user.id, _starting_cash(), publisher))


@app.get("/api/v1/portfolio/history/", response_model=list[EquityPoint])
def portfolio_history(db: Db, user: CurrentUser) -> list[EquityPoint]:
    return [EquityPoint(**p) for p in trading.equity_history(db, user.id, _starting_cash())]


@app.post(
    "/api/v1/orders/",
    status_code=201,
    response_model=OrderOut,
    responses={
        200: {"model": OrderOut, "description": "The order this client_order_id already placed (same body)"},
        **documented_errors(404, 409, 422),
    },
    dependencies=order_writes,
    openapi_extra=links(201, "order_id", "/api/v1/orders/{order_id}/"),
)
def submit_order(
    db: Db, market_data: MarketData, body: OrderIn, user: CurrentUser, response: Response, publisher: Live
) -> OrderOut:
    request = trading.OrderRequest(
        symbol=body.symbol,
        side=body.side,
        qty=body.qty,
        order_type=body.type,
        limit_price=body.limit_price,
        stop_price=body.stop_price,
        time_in_force=body.time_in_force,
        client_order_id=body.client_order_id,
        webhook_id=body.webhook_id,
    )
    settings = get_settings()
    placed, created = trading.place_order(
        db,
        market_data,
        user.id,
        request,
        starting_cash=settings.paper_starting_cash,
        max_price_age_minutes=settings.max_price_age_minutes,
        publisher=publisher,
    )
    if not created:
        response.status_code = 200
    return OrderOut.of(placed)


@app.get("/api/v1/orders/", response_model=OrderPage)
def list_orders(
    db: Db,
    user: CurrentUser,
    status: Annotated[Literal["open", "closed", "all"], Query()] = "all",
    symbol: Annotated[TickerSymbol | None, Query()] = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> OrderPage:
    total, rows = trading.list_orders(db, user.id, status, symbol, limit, offset)
    return OrderPage(count=total, limit=limit, offset=offset, results=[OrderOut.of(r) for r in rows])


ORDER = "/api/v1/orders/{order_id:int}/"


@app.get(ORDER, response_model=OrderOut, responses=documented_errors(404))
def read_order(db: Db, order_id: ResourceId, user: CurrentUser) -> OrderOut:
    return OrderOut.of(trading.get_order(db, user.id, order_id))


@app.delete(ORDER, response_model=OrderOut, responses=documented_errors(404, 422))
def cancel_order(db: Db, order_id: ResourceId, user: CurrentUser, publisher: Live) -> OrderOut:
    return OrderOut.of(trading.cancel_order(db, user.id, order_id, _starting_cash(), publisher))


handler = lambda_handler(app)
