"""Stocks: the tracked list, tracking a new symbol, and a symbol's daily bars."""

from datetime import date, datetime
from decimal import Decimal

from fastapi import Response
from pydantic import BaseModel, ConfigDict

from tickerwatch import stocks
from tickerwatch.data.prices import StockRow
from tickerwatch.runtime import get_database, get_market_data
from tickerwatch.settings import get_settings
from tickerwatch.web import CurrentUser, IsoDate, TickerSymbol, create_app, documented_errors, lambda_handler

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
def bars(symbol: str, start: IsoDate | None = None, end: IsoDate | None = None) -> list[BarOut]:
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


handler = lambda_handler(app)
