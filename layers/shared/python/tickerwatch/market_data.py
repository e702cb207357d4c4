"""Market data providers behind one small interface, chosen by TICKERWATCH_MARKET_DATA.

``yfinance`` downloads many tickers in one batched call; ``csv:DIR`` reads ``DIR/<TICKER>.csv``
in Yahoo's layout as it is (a market frozen in the past); ``replay:DIR`` moves those files to the
present and plays each real session minute by minute, on the exchange's calendar; ``anytime:DIR``
(the local default) plays today as a session that never closes, a step every few seconds, so that
prices move and alerts can fire whatever the hour or the day someone tries it.

A provider that cannot be reached raises ``ProviderUnavailable`` (503 in the API); a symbol it
does not know is a failure "unknown symbol" (404). The two are never confused.
"""

from __future__ import annotations

import csv
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from tickerwatch.errors import InvalidInput
from tickerwatch.market_time import (
    NEW_YORK,
    SESSION_MINUTES,
    close_time,
    is_trading_day,
    previous_trading_day,
    session_minute,
    session_on,
    session_start,
    trading_days_ending,
)

__all__ = ["NEW_YORK", "close_time"]
BACKFILL_YEARS = 10
UNKNOWN_SYMBOL = "unknown symbol"
SYMBOL_RE = re.compile(r"^[A-Z0-9][A-Z0-9.^=-]{0,14}$")


def normalise_symbol(raw: str, field: str = "symbol") -> str:
    """Upper-cased and checked; ``field`` is the request's name for it, where an error is reported."""
    symbol = raw.strip().upper()
    if not SYMBOL_RE.fullmatch(symbol):
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


class ProviderUnavailable(Exception):
    """The provider as a whole cannot be reached (network, credentials, a missing data folder)."""


class MarketData(Protocol):
    name: str

    def history(self, symbols: list[str], start: date | None, end: date) -> History:
        """Daily bars from start to end; start=None means the last BACKFILL_YEARS years the provider has."""
        ...

    def info(self, symbol: str) -> StockInfo | None:
        """The symbol's name and exchange; None when the provider does not know it."""
        ...

    def describe(self) -> str:
        """What it is, for the commands to print."""
        ...


def _finite(*values: float) -> bool:
    return all(v is not None and math.isfinite(v) for v in values)


@lru_cache(maxsize=64)
def _read_csv(path: Path, version: tuple[int, int, int]) -> tuple[PriceBar, ...]:
    """A Yahoo-layout CSV's bars, oldest first, cached per version (inode, size, mtime): a file replaced,
    or rewritten within one tick of a coarse clock, is read again."""
    symbol = path.stem
    bars = []
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            try:
                values = [float(row[k]) for k in ("Open", "High", "Low", "Close", "Adj Close")]
                volume = int(float(row["Volume"]))
                day = date.fromisoformat(row["Date"][:10])
            except (KeyError, TypeError, ValueError):
                continue  # Yahoo writes "null" rows for missing days
            if _finite(*values):
                bars.append(PriceBar(symbol, day, *values, volume))
    bars.sort(key=lambda b: b.day)
    return tuple(bars)


def _ten_years_before(day: date) -> date:
    return day.replace(year=day.year - BACKFILL_YEARS, day=min(day.day, 28))


class CsvMarketData:
    """The files as they are: a market frozen at each file's last bar."""

    name = "csv"

    def __init__(self, folder: Path):
        self.folder = folder

    def describe(self) -> str:
        return f"csv:{self.folder}"

    def _path(self, symbol: str) -> Path:
        if not self.folder.is_dir():
            raise ProviderUnavailable(f"market data folder {self.folder} not found")
        return self.folder / f"{symbol}.csv"

    def _bars(self, symbol: str) -> list[PriceBar] | None:
        path = self._path(symbol)
        found = path.stat() if path.exists() else None
        return _read_csv(path, (found.st_ino, found.st_size, found.st_mtime_ns)) if found else None  # type: ignore[return-value]

    def history(self, symbols: list[str], start: date | None, end: date) -> History:
        result = History()
        for symbol in symbols:
            bars = self._bars(symbol)
            if bars is None:
                result.failures[symbol] = UNKNOWN_SYMBOL
                continue
            if bars:
                last = bars[-1]
                result.quotes[symbol] = Quote(symbol, last.close, close_time(last.day))
            # The files are a replay of the past: "the last ten years" ends at their newest bar.
            first = start or (_ten_years_before(bars[-1].day) if bars else end)
            result.bars[symbol] = [b for b in bars if first <= b.day <= end]
        return result

    def info(self, symbol: str) -> StockInfo | None:
        return StockInfo(symbol, symbol, None) if self._path(symbol).exists() else None


_LAID: dict[tuple[str, date], tuple[object, list[PriceBar]]] = {}  # see ReplayMarketData.laid


class ReplayMarketData(CsvMarketData):
    """The files moved to the present: each file's last bar becomes the most recent trading day
    before today, and during today's session (09:30 to its close, New York) prices move every minute along
    a seeded random path from the day's open towards its close, within its high and low. The day's
    shape is a real day of the file, chosen by the seed, scaled to start from the last close.
    Deterministic for a given seed and clock (tests inject the clock)."""

    name = "replay"

    def __init__(self, folder: Path, seed: int = 7, clock: Callable[[], datetime] | None = None):
        super().__init__(folder)
        self.seed = seed
        self.clock = clock or (lambda: datetime.now(UTC))

    def laid(self, symbol: str, original: list[PriceBar], last: date) -> list[PriceBar]:
        """The file's bars moved onto the sessions ending ``last`` (kept: re-laying ten years of bars
        took a fetch 50 ms a symbol)."""
        cached = _LAID.get((symbol, last))
        if cached is None or cached[0] is not original:
            days = trading_days_ending(last, len(original))
            cached = (original, [replace(bar, day=day) for bar, day in zip(original, days, strict=True)])
            if len(_LAID) > 1024:
                _LAID.clear()
            _LAID[(symbol, last)] = cached
        return list(cached[1])

    def describe(self) -> str:
        return f"replay:{self.folder} (seed {self.seed}; sessions on the exchange calendar)"

    def history(self, symbols: list[str], start: date | None, end: date) -> History:
        now = self.clock()
        result = History()
        for symbol in symbols:
            original = self._bars(symbol)
            if not original:
                result.failures[symbol] = UNKNOWN_SYMBOL
                continue
            bars, quote = self.replay(symbol, original, now)
            first = start or _ten_years_before(bars[-1].day)
            result.bars[symbol] = [b for b in bars if first <= b.day <= end]
            result.quotes[symbol] = quote
        return result

    def replay(self, symbol: str, original: list[PriceBar], now: datetime) -> tuple[list[PriceBar], Quote]:
        today = now.astimezone(NEW_YORK).date()
        bars = self.laid(symbol, original, previous_trading_day(today))
        quote = Quote(symbol, bars[-1].close, close_time(bars[-1].day))
        minute = session_minute(now) if is_trading_day(today) else None
        if minute is not None:
            path = self.session_path(symbol, original, today)
            seen = path[: minute + 1]
            bars.append(PriceBar(symbol, today, seen[0], max(seen), min(seen), seen[-1], seen[-1], 0))
            quote = Quote(symbol, seen[-1], session_start(today) + timedelta(minutes=minute))
        return bars, quote

    def session_path(self, symbol: str, original: list[PriceBar], today: date) -> list[float]:
        """Today's price at each minute of the session (391 points, 09:30 to 16:00; fewer on an early close)."""
        rng = random.Random(f"{self.seed}:{symbol}:{today.isoformat()}")
        previous_close = original[-1].close
        model = rng.randrange(1, len(original))  # a real day's shape, relative to the close before it
        base = original[model - 1].close
        day = original[model]
        open_, high, low, close = (previous_close * v / base for v in (day.open, day.high, day.low, day.close))
        high, low = max(high, open_, close), min(low, open_, close)
        minutes = session_on(today).minutes if is_trading_day(today) else SESSION_MINUTES
        steps = [rng.gauss(0.0, 1.0) for _ in range(minutes)]
        walk = [0.0]
        for step in steps:
            walk.append(walk[-1] + step)
        # A Brownian bridge (pinned to 0 at both ends) on top of the straight line from open to close.
        spread = (high - low) / 4 / max(1e-9, max(abs(w) for w in walk) or 1.0)
        path = []
        for i, w in enumerate(walk):
            t = i / minutes
            price = open_ + (close - open_) * t + (w - walk[-1] * t) * spread
            path.append(round(min(high, max(low, price)), 4))
        path[0], path[-1] = round(open_, 4), round(close, 4)
        return path


class AnytimeMarketData(ReplayMarketData):
    """The replay with a session that holds all day, every day: today's bar forms from New York's
    midnight to the next, the price taking a step every ``step_seconds`` along a seeded random walk
    (about 0.1% a minute) pinned to a real day's change from the last close. The history before
    today is laid on the exchange's sessions, as in the calendar-true replay."""

    name = "anytime"
    STEP_VOLATILITY = 0.0003  # of the price, per 5-second step: ~0.1% a minute, ~4% a day

    def __init__(self, folder: Path, seed: int = 7, clock=None, step_seconds: int = 5):
        super().__init__(folder, seed, clock)
        self.step_seconds = step_seconds

    def describe(self) -> str:
        return f"anytime:{self.folder} (a replayed session open at any hour, a step every {self.step_seconds} s)"

    def replay(self, symbol: str, original: list[PriceBar], now: datetime) -> tuple[list[PriceBar], Quote]:
        local = now.astimezone(NEW_YORK)
        today = local.date()
        bars = self.laid(symbol, original, previous_trading_day(today))
        midnight = datetime.combine(today, datetime.min.time(), tzinfo=NEW_YORK)
        step = int((local - midnight).total_seconds() // self.step_seconds)
        path = self.day_path(symbol, original, today)
        seen = path[: step + 1]
        bars.append(PriceBar(symbol, today, seen[0], max(seen), min(seen), seen[-1], seen[-1], 0))
        return bars, Quote(symbol, seen[-1], (midnight + timedelta(seconds=step * self.step_seconds)).astimezone(UTC))

    def day_path(self, symbol: str, original: list[PriceBar], today: date) -> tuple[float, ...]:
        return _anytime_path(self.seed, symbol, today, original[-1].close, self.step_seconds, len(original))


@lru_cache(maxsize=64)
def _anytime_path(
    seed: int, symbol: str, today: date, previous_close: float, step_seconds: int, history: int
) -> tuple[float, ...]:
    """The day's price at each step from midnight to midnight, New York (a day of 23 or 25 hours
    when the clocks change is played as 24)."""
    rng = random.Random(f"anytime:{seed}:{symbol}:{today.isoformat()}")
    steps = 86_400 // step_seconds
    sigma = AnytimeMarketData.STEP_VOLATILITY * math.sqrt(step_seconds / 5)
    walk = [0.0]
    for _ in range(steps):
        walk.append(walk[-1] + rng.gauss(0.0, sigma))
    drift = rng.gauss(0.0, 0.02)  # the day's change, about what a real day's is
    path = []
    for i, w in enumerate(walk):
        t = i / steps
        path.append(round(previous_close * math.exp(drift * t + w - walk[-1] * t), 4))
    return tuple(path)


class YFinanceMarketData:
    name = "yfinance"

    def describe(self) -> str:
        return "yfinance (Yahoo Finance)"

    def history(self, symbols: list[str], start: date | None, end: date) -> History:
        import yfinance as yf

        span = {"period": f"{BACKFILL_YEARS}y"} if start is None else {"start": start.isoformat()}
        try:
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
        except Exception as exc:
            raise ProviderUnavailable(f"{type(exc).__name__}: {exc}") from exc
        result = history_from_frame(frame, symbols, datetime.now(UTC))
        # A batched download answers "no data" alike for an unknown symbol and a network failure;
        # asking about the failed symbols one by one tells them apart.
        for symbol in list(result.failures):
            if self.info(symbol) is None:
                result.failures[symbol] = UNKNOWN_SYMBOL
        return result

    def info(self, symbol: str) -> StockInfo | None:
        import yfinance as yf
        from yfinance.exceptions import YFTickerMissingError

        yf.config.debug.hide_exceptions = False  # raise, so that unknown and unreachable differ
        try:
            ticker = yf.Ticker(symbol)
            if ticker.history(period="5d").empty:
                return None
            meta = ticker.get_history_metadata() or {}
        except YFTickerMissingError:
            return None
        except Exception as exc:  # the network, Yahoo's rate limit, a changed API
            raise ProviderUnavailable(f"{type(exc).__name__}: {exc}") from exc
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


def get_market_data(spec: str, replay_seed: int = 7, replay_step_seconds: int = 5) -> MarketData:
    if spec.startswith("anytime:"):
        return AnytimeMarketData(Path(spec[8:]), seed=replay_seed, step_seconds=replay_step_seconds)
    if spec.startswith("csv:"):
        return CsvMarketData(Path(spec[4:]))
    if spec.startswith("replay:"):
        return ReplayMarketData(Path(spec[7:]), seed=replay_seed)
    return YFinanceMarketData()
