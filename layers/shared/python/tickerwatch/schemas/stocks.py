"""Request and response models of stocks and watchlists."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from tickerwatch import watchlists
from tickerwatch.data.prices import StockRow
from tickerwatch.data.watchlists import WatchlistRow
from tickerwatch.web import (
    NotNull,
    TickerSymbol,
)


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

    @classmethod
    def of(cls, row: WatchlistRow) -> "WatchlistOut":
        return cls.model_validate(row, from_attributes=True)


class WatchlistPage(BaseModel):
    count: int
    limit: int
    offset: int
    results: list[WatchlistOut]
