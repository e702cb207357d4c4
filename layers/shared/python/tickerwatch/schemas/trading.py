"""Request and response models of paper trading."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from tickerwatch import trading
from tickerwatch.data.trading import OrderRow
from tickerwatch.web import (
    TickerSymbol,
    json_int,
    positive_decimal,
)

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
    def of(cls, row: OrderRow) -> "OrderOut":
        fields = {k: v for k, v in row.__dict__.items() if k not in ("order_type", "reserved_cash")}
        return cls(**fields, type=row.order_type)


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
