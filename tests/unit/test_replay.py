"""The replayed market: the shared histories moved to the present, today's session played minute by minute."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from tickerwatch.market_data import AnytimeMarketData, ProviderUnavailable, ReplayMarketData
from tickerwatch.market_time import NEW_YORK, is_trading_day

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def at(*args) -> datetime:
    return datetime(*args, tzinfo=NEW_YORK)


def replay(now: datetime, seed: int = 7) -> ReplayMarketData:
    return ReplayMarketData(DATA, seed=seed, clock=lambda: now)


def test_the_last_bar_becomes_the_last_trading_day_before_today():
    # Given Wednesday 2026-11-25 before the open,
    history = replay(at(2026, 11, 25, 8, 0)).history(["TSLA"], None, date(2026, 11, 25))
    bars = history.bars["TSLA"]
    # then the file's last bar (2022-03-24, close 1013.92) is dated Tuesday, with no bar for today yet,
    assert bars[-1].day == date(2026, 11, 24) and bars[-1].close == pytest.approx(1013.92, abs=0.01)
    assert history.quotes["TSLA"].price == bars[-1].close
    # and the days before are consecutive weekdays: ten years of them.
    assert all(b.day.weekday() < 5 for b in bars)
    assert len({b.day for b in bars}) == len(bars)
    assert bars[0].day >= date(2016, 11, 24)


def test_over_a_weekend_the_last_bar_is_friday():
    history = replay(at(2026, 11, 29, 12, 0)).history(["GOOG"], None, date(2026, 11, 29))  # Sunday
    assert history.bars["GOOG"][-1].day == date(2026, 11, 27)
    assert history.quotes["GOOG"].time == at(2026, 11, 27, 13, 0)  # the Friday after Thanksgiving closes early


def test_during_the_session_prices_move_every_minute_within_the_days_range():
    monday = date(2026, 11, 23)
    prices = []
    for minute in range(0, 391):
        now = at(2026, 11, 23, 9, 30) + timedelta(minutes=minute, seconds=20)
        history = replay(now).history(["TSLA"], monday, monday)
        quote = history.quotes["TSLA"]
        assert quote.time == at(2026, 11, 23, 9, 30) + timedelta(minutes=minute)
        bar = history.bars["TSLA"][-1]
        assert bar.day == monday and bar.low <= quote.price <= bar.high and bar.close == quote.price
        prices.append(quote.price)
    assert len(set(prices)) > 300  # it moves
    assert max(abs(b - a) / a for a, b in itertools.pairwise(prices)) < 0.05  # no jumps
    after_close = replay(at(2026, 11, 23, 18, 0)).history(["TSLA"], monday, monday)
    assert after_close.quotes["TSLA"].time == at(2026, 11, 23, 16, 0)
    assert after_close.quotes["TSLA"].price == prices[-1]


def test_it_is_deterministic_for_a_seed_and_a_clock():
    now = at(2026, 11, 23, 11, 17)
    first = replay(now).history(["TSLA", "GOOG"], None, now.date())
    again = replay(now).history(["TSLA", "GOOG"], None, now.date())
    other = replay(now, seed=8).history(["TSLA", "GOOG"], None, now.date())
    assert first.quotes == again.quotes and first.bars == again.bars
    assert other.quotes["TSLA"].price != first.quotes["TSLA"].price


def test_unknown_symbols_and_a_missing_folder_are_told_apart(tmp_path):
    history = replay(at(2026, 11, 23, 12, 0)).history(["NOPE"], None, date(2026, 11, 23))
    assert history.failures == {"NOPE": "unknown symbol"}
    gone = ReplayMarketData(tmp_path / "missing", clock=lambda: at(2026, 11, 23, 12, 0))
    with pytest.raises(ProviderUnavailable):
        gone.history(["TSLA"], None, date(2026, 11, 23))
    with pytest.raises(ProviderUnavailable):
        gone.info("TSLA")


def test_a_quote_is_never_stamped_after_the_moment_it_was_read():
    for seconds in (0, 1, 29, 30, 31, 59):
        now = at(2026, 11, 23, 10, 15) + timedelta(seconds=seconds)
        quote = replay(now).history(["TSLA"], None, now.date()).quotes["TSLA"]
        assert quote.time <= now and now - quote.time < timedelta(minutes=1), seconds


def anytime(now: datetime, step: int = 5) -> AnytimeMarketData:
    return AnytimeMarketData(DATA, seed=7, clock=lambda: now, step_seconds=step)


@pytest.mark.parametrize(
    "now",
    [at(2026, 12, 4, 18, 40), at(2026, 11, 26, 3, 0), at(2026, 12, 5, 12, 0), at(2026, 12, 7, 10, 0)],
    ids=["friday-evening", "thanksgiving-night", "saturday", "monday-session"],
)
def test_the_anytime_market_moves_every_step_whatever_the_hour(now):
    # Given the always-open replay at an hour the exchange is shut (or open),
    reads = [now + timedelta(seconds=5 * n + 3) for n in range(13)]  # 3 s into each step
    prices = [anytime(read).history(["TSLA"], None, now.date()) for read in reads]
    quotes = [h.quotes["TSLA"] for h in prices]
    # then within a minute the price has moved at (nearly) every 5-second step,
    assert sum(a.price != b.price for a, b in itertools.pairwise(quotes)) >= 10
    # each quote is stamped at its step, never after the moment it is read,
    for read, quote in zip(reads, quotes, strict=True):
        assert read - timedelta(seconds=5) < quote.time <= read
    # today's bar is forming (its close the latest price, inside its high and low),
    today = prices[-1].bars["TSLA"][-1]
    assert today.day == now.date() and today.close == quotes[-1].price and today.low <= today.close <= today.high
    # and yesterday's history still lies on the exchange's sessions.
    assert all(is_trading_day(b.day) for b in prices[-1].bars["TSLA"][:-1])


def test_the_anytime_market_starts_from_the_last_close_and_is_the_same_for_the_same_clock():
    now = at(2026, 12, 4, 0, 0, 2)
    first = anytime(now).history(["GOOG"], None, now.date())
    assert first.quotes["GOOG"].price == first.bars["GOOG"][-2].close  # the midnight step: no move yet
    assert anytime(now).history(["GOOG"], None, now.date()).quotes == first.quotes
    later = at(2026, 12, 4, 22, 0)
    assert anytime(later).history(["GOOG"], None, now.date()).quotes["GOOG"].price != first.quotes["GOOG"].price
