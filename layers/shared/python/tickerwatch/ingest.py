"""The fetch_prices job: one batched provider call, idempotent writes, per-ticker failures."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from tickerwatch.data import prices
from tickerwatch.db import Database
from tickerwatch.errors import InvalidInput
from tickerwatch.market_data import History, MarketData, ProviderUnavailable, Quote, StockInfo, normalise_symbol
from tickerwatch.market_time import prices_move
from tickerwatch.observability import METRIC_FETCH_FAILED_SHARE, logger, metrics

UNREACHABLE = "provider unreachable"
# Re-read a few days before the newest stored bar: providers correct recent bars.
OVERLAP_DAYS = 5
# Alerts look back at most a week of quotes (durations, percent windows, coverage); keep a month.
QUOTE_RETENTION = timedelta(days=30)


@dataclass
class FetchResult:
    succeeded: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    bars_written: int = 0
    backfill: bool = False
    quotes_pruned: int = 0
    changed: list[str] = field(default_factory=list)  # symbols whose current price moved on

    def as_dict(self) -> dict:
        return {
            "succeeded": self.succeeded,
            "failed": self.failed,
            "bars_written": self.bars_written,
            "backfill": self.backfill,
            "quotes_pruned": self.quotes_pruned,
            "changed": self.changed,
        }


def fetch_prices(
    db: Database,
    provider: MarketData,
    symbols: list[str] | None = None,
    *,
    backfill: bool = False,
    today: date | None = None,
    on_changed: Callable[[list[str]], object] | None = None,
    on_quotes: Callable[[list[Quote]], object] | None = None,
) -> FetchResult:
    """Fetch bars for the given symbols (default: every tracked stock) and store them.

    Symbols given explicitly start being tracked when the provider has data for them. When newer
    prices were written, ``on_changed`` hears which symbols moved and ``on_quotes`` their new quotes
    (the live channel), both after the commit.
    """
    today = today or datetime.now(UTC).date()
    result = FetchResult(backfill=backfill)
    requested: list[str] = []
    for raw in symbols or []:
        try:
            requested.append(normalise_symbol(raw))
        except InvalidInput:
            result.failed[str(raw)] = "invalid symbol"
    if symbols is None:
        requested = db.run(prices.tracked_symbols)
    requested = sorted(set(requested))
    if not requested:
        return result

    last_days = db.run(lambda conn: prices.last_bar_days(conn, requested))
    # Symbols without bars (or all, for a backfill) get the provider's last ten years; the rest
    # only the days since their newest bar. Two batched calls at most: one symbol that never
    # returns data must not make every run download ten years for everyone.
    full = requested if backfill else [s for s in requested if s not in last_days]
    recent = [s for s in requested if s not in full]
    history = History()
    if full:
        _merge(history, _download(provider, full, None, today))
    if recent:
        since = min(last_days[s] for s in recent) - timedelta(days=OVERLAP_DAYS)
        _merge(history, _download(provider, recent, since, today))

    result.failed.update(history.failures)
    got = [s for s in requested if history.bars.get(s)]
    for symbol in requested:
        if symbol not in got and symbol not in result.failed:
            result.failed[symbol] = "no bars in range"
    if not got:
        _count(result)
        return result

    def work(conn):
        prices.upsert_stocks(conn, [StockInfo(s, None, None) for s in got])
        written = prices.write_bars(conn, [bar for s in got for bar in history.bars[s]])
        prices.warm_moving_averages(conn, got)
        result.changed = prices.record_quotes(conn, [history.quotes[s] for s in got if s in history.quotes])
        prices.mark_backfilled(conn, [s for s in got if s in full])
        result.quotes_pruned = prices.prune_quotes(conn, datetime.now(UTC) - QUOTE_RETENTION)
        return written

    result.bars_written = db.run(work)
    result.succeeded = got
    _count(result)
    if result.changed and on_quotes is not None:
        on_quotes([history.quotes[s] for s in result.changed])
    if result.changed and on_changed is not None:
        on_changed(result.changed)
    return result


def fetch_repeatedly(
    fetch_once: Callable[[], FetchResult],
    every_seconds: float,
    window_seconds: float = 60.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> list[FetchResult]:
    """Fetch at the start of the window and again every ``every_seconds`` while the next start stays
    inside it: the schedule invokes the job each minute, and the next invocation takes over."""
    started = clock()
    results = [fetch_once()]
    while (due := started + len(results) * every_seconds) < started + window_seconds:
        sleep(max(0.0, due - clock()))
        results.append(fetch_once())
    return results


def fetch_in_session(fetch_once: Callable[[], FetchResult], now: datetime, every_seconds: float) -> list[FetchResult]:
    """A scheduled run: nothing when prices do not move now (a holiday, after an early close, past the
    closing quote's minutes: the crons fire on every weekday), else fetches through the minute."""
    if not prices_move(now):
        return []
    return fetch_repeatedly(fetch_once, every_seconds)


def _download(provider: MarketData, symbols: list[str], start: date | None, end: date) -> History:
    try:
        return provider.history(symbols, start, end)
    except ProviderUnavailable as exc:  # every symbol of the call failed; not their fault
        logger.warning("market data provider unreachable", extra={"provider": provider.name, "error": str(exc)})
        return History(failures={s: f"{UNREACHABLE}: {exc}" for s in symbols})
    except Exception as exc:
        logger.exception("market data provider failed", extra={"provider": provider.name, "symbols": len(symbols)})
        return History(failures={s: f"provider error: {type(exc).__name__}: {exc}" for s in symbols})


def _merge(into: History, part: History) -> None:
    into.bars.update(part.bars)
    into.quotes.update(part.quotes)
    into.failures.update(part.failures)


def _count(result: FetchResult) -> None:
    metrics.add_metric(name="TickersFetched", unit="Count", value=len(result.succeeded))
    metrics.add_metric(name="TickersFailed", unit="Count", value=len(result.failed))
    asked = len(result.succeeded) + len(result.failed)
    if asked:
        share = 100.0 * len(result.failed) / asked
        metrics.add_metric(name=METRIC_FETCH_FAILED_SHARE, unit="Percent", value=share)
    logger.info("fetch_prices done", extra=result.as_dict())
