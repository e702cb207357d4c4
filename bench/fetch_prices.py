"""fetch_prices write path on generated data: 500 tickers' latest bars, and a 500-ticker ten-year backfill."""

from __future__ import annotations

import statistics
import time
from datetime import date

import numpy as np
from _common import bench_database, out, record

from tickerwatch.forecasting import next_trading_days
from tickerwatch.market_data import History, PriceBar, Quote, close_time

TICKERS = [f"T{i:04d}" for i in range(500)]
DAYS = next_trading_days(date(2014, 1, 1), 2520)  # ten years of trading days


class GeneratedProvider:
    """A random walk per ticker, generated up front: the figures time our write path, not the generator."""

    name = "generated"

    def __init__(self, days: list[date], symbols: list[str], seed: int = 0):
        rng = np.random.default_rng(seed)
        self.generated = History()
        for symbol in symbols:
            closes = 50 * np.exp(np.cumsum(rng.normal(0, 0.01, len(days))))
            bars = [
                PriceBar(symbol, d, c, c * 1.01, c * 0.99, c, c, 1000)
                for d, c in zip(days, closes.tolist(), strict=True)
            ]
            self.generated.bars[symbol] = bars
            self.generated.quotes[symbol] = Quote(symbol, bars[-1].close, close_time(bars[-1].day))

    def history(self, symbols, start, end):
        result = History()
        for symbol in symbols:
            result.bars[symbol] = self.generated.bars[symbol]
            result.quotes[symbol] = self.generated.quotes[symbol]
        return result

    def info(self, symbol):
        return None


def main() -> None:
    bench_database()
    from tickerwatch.ingest import fetch_prices
    from tickerwatch.runtime import get_database

    db = get_database()
    provider = GeneratedProvider(DAYS, TICKERS)
    started = time.perf_counter()
    result = fetch_prices(db, provider, TICKERS, backfill=True)
    backfill = time.perf_counter() - started
    result_rate = result.bars_written / backfill
    out(
        f"backfill 500 tickers x {len(DAYS)} days: {result.bars_written:,} bars in {backfill:.1f} s "
        f"({result.bars_written / backfill:,.0f} bars/s, binary COPY + upsert)"
    )

    started = time.perf_counter()
    again = fetch_prices(db, provider, TICKERS, backfill=True)
    out(f"re-running the same backfill: {again.bars_written} bars changed in {time.perf_counter() - started:.1f} s")

    latest = []
    for i in range(5):
        day = next_trading_days(DAYS[-1], i + 1)[-1]
        latest_bar = GeneratedProvider([day], TICKERS, seed=i + 1)
        started = time.perf_counter()
        result = fetch_prices(db, latest_bar, None)  # every tracked ticker, as the schedule runs it
        latest.append(time.perf_counter() - started)
        assert len(result.succeeded) == 500 and result.bars_written == 500
    out(
        f"latest bars for 500 tickers (scheduled run): median {statistics.median(latest) * 1000:.0f} ms of 5 "
        f"(min {min(latest) * 1000:.0f}, max {max(latest) * 1000:.0f})"
    )
    record(
        "fetch_prices",
        backfill_bars_per_second=result_rate,
        scheduled_run_500_tickers_ms=statistics.median(latest) * 1000,
    )


if __name__ == "__main__":
    main()
