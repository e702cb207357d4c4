"""Hand-made price series for alert tests: stocks and timestamped quotes written through the
same data-access code fetch_prices uses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tickerwatch.data import prices
from tickerwatch.market_data import Quote, StockInfo

NY = ZoneInfo("America/New_York")


def ny(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NY).astimezone(UTC)


# Wednesday 2024-05-15, 15:00 in New York: mid-session, a fixed "now" for deterministic tests.
WED_3PM = ny(2024, 5, 15, 15)


def quote(db, symbol: str, price: float, at: datetime) -> None:
    def work(conn):
        prices.upsert_stocks(conn, [StockInfo(symbol, symbol, None)])
        prices.record_quotes(conn, [Quote(symbol, price, at)])

    db.run(work)


def series(db, symbol: str, points: list[tuple[int, float]], end: datetime) -> None:
    """points: (minutes before ``end``, price)."""
    for minutes, price in points:
        quote(db, symbol, price, end - timedelta(minutes=minutes))
