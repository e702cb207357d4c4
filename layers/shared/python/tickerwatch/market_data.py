"""Market data providers behind one small interface, chosen by TICKERWATCH_MARKET_DATA.

``yfinance`` downloads many tickers in one batched call; ``csv:DIR`` reads ``DIR/<TICKER>.csv``
in Yahoo's layout and is how the project runs with no network.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from tickerwatch.errors import InvalidInput

NEW_YORK = ZoneInfo("America/New_York")
BACKFILL_YEARS = 10
MARKET_CLOSE = time(16, 0)
SYMBOL_RE = re.compile(r"^[A-Z0-9][A-Z0-9.^=-]{0,14}$")


def normalise_symbol(raw: str, field: str = "symbol") -> str:
    """Upper-cased and checked; ``field`` is the request's name for it, where an error is reported."""
    symbol = raw.strip().upper()
    if not SYMBOL_RE.match(symbol):
        raise InvalidInput({field: [f"'{raw}' is not a valid ticker symbol."]})
    return symbol


@dataclass(frozen=True)
class PriceBar:
    symbol: str
    day: date
    open: float
    high: float
    low: float
    close: float
    adj_close: float
    volume: int


@dataclass(frozen=True)
class Quote:
    symbol: str
    price: float
    time: datetime


@dataclass(frozen=True)
class StockInfo:
    symbol: str
    name: str | None
    exchange: str | None


@dataclass
class History:
    """Bars per symbol from one batched call, plus the symbols that failed and why."""

    bars: dict[str, list[PriceBar]] = field(default_factory=dict)
    quotes: dict[str, Quote] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)


class MarketData(Protocol):
    name: str

    def history(self, symbols: list[str], start: date | None, end: date) -> History:
        """Daily bars from start to end; start=None means the last BACKFILL_YEARS years the provider has."""
        ...

    def info(self, symbol: str) -> StockInfo | None: ...


def close_time(day: date) -> datetime:
    """When a daily bar's close was the price: 16:00 New York on that day."""
    return datetime.combine(day, MARKET_CLOSE, tzinfo=NEW_YORK).astimezone(UTC)


def _finite(*values: float) -> bool:
    return all(v is not None and math.isfinite(v) for v in values)


class CsvMarketData:
    name = "csv"

    def __init__(self, folder: Path):
        self.folder = folder

    def _path(self, symbol: str) -> Path:
        return self.folder / f"{symbol}.csv"

    def _read(self, symbol: str) -> list[PriceBar]:
        bars = []
        with self._path(symbol).open(newline="") as fh:
            for row in csv.DictReader(fh):
                try:
                    values = [float(row[k]) for k in ("Open", "High", "Low", "Close", "Adj Close")]
                    volume = int(float(row["Volume"]))
                    day = date.fromisoformat(row["Date"][:10])
                except (KeyError, TypeError, ValueError):
                    continue  # Yahoo writes "null" rows for missing days
                if _finite(*values):
                    bars.append(PriceBar(symbol, day, *values, volume))
        return bars

    def history(self, symbols: list[str], start: date | None, end: date) -> History:
        result = History()
        for symbol in symbols:
            if not self._path(symbol).exists():
                result.failures[symbol] = "unknown symbol"
                continue
            bars = self._read(symbol)
            if bars:
                last = bars[-1]
                result.quotes[symbol] = Quote(symbol, last.close, close_time(last.day))
            # The files are a replay of the past: "the last ten years" ends at their newest bar.
            first = start or (bars[-1].day.replace(year=bars[-1].day.year - BACKFILL_YEARS) if bars else end)
            result.bars[symbol] = [b for b in bars if first <= b.day <= end]
        return result

    def info(self, symbol: str) -> StockInfo | None:
        return StockInfo(symbol, symbol, None) if self._path(symbol).exists() else None


class YFinanceMarketData:
    name = "yfinance"

    def history(self, symbols: list[str], start: date | None, end: date) -> History:
        import yfinance as yf

        span = {"period": f"{BACKFILL_YEARS}y"} if start is None else {"start": start.isoformat()}
        frame = yf.download(
            tickers=symbols,
            **span,
            end=(end + timedelta(days=1)).isoformat(),
            interval="1d",
            group_by="ticker",
            auto_adjust=False,
            actions=False,
            threads=True,
            progress=False,
            multi_level_index=True,
        )
        return history_from_frame(frame, symbols, datetime.now(UTC))

    def info(self, symbol: str) -> StockInfo | None:
        import yfinance as yf

        try:
            ticker = yf.Ticker(symbol)
            if ticker.history(period="5d").empty:
                return None
            meta = ticker.get_history_metadata() or {}
        except Exception:  # yfinance raises many types for unknown symbols
            return None
        return StockInfo(symbol, meta.get("longName") or meta.get("shortName") or symbol, meta.get("exchangeName"))


def history_from_frame(frame, symbols: list[str], fetched_at: datetime) -> History:
    """Parse yfinance's batched download (columns: ticker, field) into bars per symbol.

    The newest bar's close is the latest quote; a bar for today is still forming, so its
    quote time is the fetch time, not 16:00.
    """
    result = History()
    today_ny = fetched_at.astimezone(NEW_YORK).date()
    for symbol in symbols:
        if frame is None or frame.empty or symbol not in frame.columns.get_level_values(0):
            result.failures[symbol] = "no data returned"
            continue
        part = frame[symbol].dropna(subset=["Close"])
        bars = []
        for stamp, row in part.iterrows():
            values = [float(row[k]) for k in ("Open", "High", "Low", "Close")]
            adj = float(row.get("Adj Close", row["Close"]))
            volume = row.get("Volume", 0)
            if not _finite(*values, adj):
                continue
            volume = int(volume) if _finite(float(volume)) else 0
            bars.append(PriceBar(symbol, stamp.date(), *values, adj, volume))
        if not bars:
            result.failures[symbol] = "no data returned"
            continue
        result.bars[symbol] = bars
        last = bars[-1]
        when = min(fetched_at, close_time(last.day)) if last.day == today_ny else close_time(last.day)
        result.quotes[symbol] = Quote(symbol, last.close, when)
    return result


def get_market_data(spec: str) -> MarketData:
    if spec.startswith("csv:"):
        return CsvMarketData(Path(spec[4:]))
    return YFinanceMarketData()
