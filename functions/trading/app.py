"""Paper trading for the signed-in user: the account (portfolio, reset, equity history) and orders
(submit, list, read, cancel). Resting orders are filled by the evaluate_alerts job as quotes move."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from tickerwatch import trading
from tickerwatch.runtime import get_database, get_market_data
from tickerwatch.settings import get_settings
from tickerwatch.web import (
    CurrentUser,
    Limit,
    Offset,
    ResourceId,
    TickerSymbol,
    create_app,
    documented_errors,
    json_int,
    lambda_handler,
    positive_decimal,
    throttle,
)

get_settings()

Quantity = positive_decimal(
    trading.MAX_QTY,
    trading.QTY_PLACES,
    "Shares: a JSON number or a numeric string, fractional up to 6 decimals.",
    exact=True,
)
OrderPrice = positive_decimal(
    trading.MAX_PRICE,
    trading.PRICE_PLACES,
    "A price in USD: a JSON number or a numeric string, up to 4 decimals.",
    exact=True,
)
ClientOrderId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=128,
        pattern=r"^[!-~]+$",
        description="Your id for the order (printable ASCII, no spaces): resubmitting it with the same body "
        "returns the first order (200), with another body 409.",
    ),
]


class OrderIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"symbol": "TSLA", "side": "buy", "qty": "2", "type": "market"},
                {
                    "symbol": "TSLA",
                    "side": "buy",
                    "qty": "1.5",
                    "type": "limit",
                    "limit_price": "950.00",
                    "time_in_force": "gtc",
                    "client_order_id": "my-order-1",
                },
            ]
        },
    )
    symbol: TickerSymbol
    side: Literal["buy", "sell"]
    qty: Quantity
    type: Literal["market", "limit", "stop"]
    limit_price: OrderPrice | None = Field(None, description="Limit orders only: buy at or under it, sell at or over.")
    stop_price: OrderPrice | None = Field(
        None, description="Stop orders only: a buy fills once the price is at or over it, a sell at or under."
    )
    time_in_force: Literal["day", "gtc"] = Field(
        "day", description="day: expires at the session's close if still open; gtc: until filled or canceled."
    )
    client_order_id: ClientOrderId | None = None
    webhook_id: json_int(1, 2**63 - 1) | None = Field(  # type: ignore[valid-type]
        None, description="One of your webhooks, also told when a resting order fills."
    )


OrderStatus = Literal["open", "filled", "canceled", "expired"]


class OrderOut(BaseModel):
    id: int
    client_order_id: str | None
    symbol: str
    side: str
    qty: Decimal
    type: str
    limit_price: Decimal | None
    stop_price: Decimal | None
    time_in_force: str
    webhook_id: int | None
    status: OrderStatus
    filled_qty: Decimal
    filled_avg_price: Decimal | None
    submitted_at: datetime
    expires_at: datetime | None = Field(description="A day order: when it expires if still open.")
    filled_at: datetime | None
    canceled_at: datetime | None
    expired_at: datetime | None
    reject_reason: str | None = Field(description="Why it was canceled by the system (a reset, cash gone at fill).")

    @classmethod
    def of(cls, row: dict) -> "OrderOut":
        return cls(**{k: v for k, v in row.items() if k not in ("order_type", "reserved_cash")}, type=row["order_type"])


class OrderPage(BaseModel):
    count: int
    limit: int
    offset: int
    results: list[OrderOut]


class PositionOut(BaseModel):
    symbol: str
    qty: Decimal
    avg_price: Decimal = Field(description="Cost basis per share, to 6 decimals like a fill's price.")
    cost_basis: Decimal
    last_price: Decimal | None
    price_time: datetime | None
    market_value: Decimal = Field(description="qty x last price, to the cent.")
    unrealized_pl: Decimal


class PortfolioOut(BaseModel):
    cash: Decimal
    buying_power: Decimal = Field(description="Cash less what open buy orders reserve.")
    equity: Decimal = Field(description="Cash plus the positions' market value.")
    starting_cash: Decimal
    realized_pl: Decimal = Field(description="Since the last reset.")
    unrealized_pl: Decimal
    positions: list[PositionOut]
    reset_at: datetime = Field(description="When the account was opened or last reset.")


class EquityPoint(BaseModel):
    date: date
    equity: Decimal


app = create_app("tickerwatch trading")
order_writes = [Depends(throttle("orders", "rate_limit_orders_per_user", by="user"))]


def _starting_cash() -> Decimal:
    return get_settings().paper_starting_cash


@app.get("/api/v1/portfolio/", response_model=PortfolioOut)
def read_portfolio(user: CurrentUser) -> PortfolioOut:
    return PortfolioOut(**trading.portfolio(get_database(), user.id, _starting_cash()))


@app.post("/api/v1/portfolio/reset/", response_model=PortfolioOut)
def reset_portfolio(user: CurrentUser) -> PortfolioOut:
    return PortfolioOut(**trading.reset(get_database(), user.id, _starting_cash()))


@app.get("/api/v1/portfolio/history/", response_model=list[EquityPoint])
def portfolio_history(user: CurrentUser) -> list[EquityPoint]:
    return [EquityPoint(**p) for p in trading.equity_history(get_database(), user.id, _starting_cash())]


@app.post(
    "/api/v1/orders/",
    status_code=201,
    response_model=OrderOut,
    responses={
        200: {"model": OrderOut, "description": "The order this client_order_id already placed (same body)"},
        **documented_errors(404, 409, 422),
    },
    dependencies=order_writes,
)
def submit_order(body: OrderIn, user: CurrentUser, response: Response) -> OrderOut:
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
        get_database(),
        get_market_data(),
        user.id,
        request,
        starting_cash=settings.paper_starting_cash,
        max_price_age_minutes=settings.max_price_age_minutes,
    )
    if not created:
        response.status_code = 200
    return OrderOut.of(placed)


@app.get("/api/v1/orders/", response_model=OrderPage)
def list_orders(
    user: CurrentUser,
    status: Annotated[Literal["open", "closed", "all"], Query()] = "all",
    symbol: Annotated[TickerSymbol | None, Query()] = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> OrderPage:
    total, rows = trading.list_orders(get_database(), user.id, status, symbol, limit, offset)
    return OrderPage(count=total, limit=limit, offset=offset, results=[OrderOut.of(r) for r in rows])


ORDER = "/api/v1/orders/{order_id:int}/"


@app.get(ORDER, response_model=OrderOut, responses=documented_errors(404))
def read_order(order_id: ResourceId, user: CurrentUser) -> OrderOut:
    return OrderOut.of(trading.get_order(get_database(), user.id, order_id))


@app.delete(ORDER, response_model=OrderOut, responses=documented_errors(404, 422))
def cancel_order(order_id: ResourceId, user: CurrentUser) -> OrderOut:
    return OrderOut.of(trading.cancel_order(get_database(), user.id, order_id, _starting_cash()))


handler = lambda_handler(app)
