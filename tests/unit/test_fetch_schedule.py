"""fetch_prices in AWS: the session crons, the calendar gate and the fetches within a minute."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from tickerwatch.ingest import FetchResult, fetch_repeatedly
from tickerwatch.local import SESSION_CRONS
from tickerwatch.market_time import CLOSING_FETCH_MINUTES, NEW_YORK, prices_move, session_on

DAYS = {"MON": 0, "TUE": 1, "WED": 2, "THU": 3, "FRI": 4, "SAT": 5, "SUN": 6}


def _field(spec: str, value: int, names: dict[str, int] | None = None) -> bool:
    if spec in ("*", "?"):
        return True
    for part in spec.split(","):
        low, _, high = part.partition("-")
        low_n = names[low] if names and low in names else int(low)
        high_n = (names[high] if names and high in names else int(high)) if high else low_n
        if low_n <= value <= high_n:
            return True
    return False


def cron_fires(expression: str, local: datetime) -> bool:
    """Whether an EventBridge cron (minutes hours day-of-month month day-of-week year) fires at this
    New York minute: the subset our schedules use."""
    minute, hour, _dom, _month, dow, _year = expression[len("cron(") : -1].split()
    return _field(minute, local.minute) and _field(hour, local.hour) and _field(dow, local.weekday(), DAYS)


def scheduled(local: datetime) -> bool:
    return any(cron_fires(expression, local) for expression in SESSION_CRONS)


def minutes_of(day: date):
    start = datetime(day.year, day.month, day.day, tzinfo=NEW_YORK)
    for n in range(24 * 60):
        yield start + timedelta(minutes=n)


@pytest.mark.parametrize(
    "day",
    [date(2026, 11, 25), date(2026, 11, 26), date(2026, 11, 27), date(2026, 11, 28), date(2026, 3, 9)],
    ids=["wednesday", "thanksgiving", "early-close", "saturday", "after-the-clocks-changed"],
)
def test_every_minute_of_a_session_is_fetched_and_nothing_runs_at_night(day):
    session = session_on(day)
    for local in minutes_of(day):
        due = prices_move(local)
        if due:  # each minute a fetch is worth making, the schedule invokes the job
            assert scheduled(local), local
        if scheduled(local) and session is not None:
            # and it runs no later than the closing quote needs on a full day
            assert local <= datetime(day.year, day.month, day.day, 16, CLOSING_FETCH_MINUTES, tzinfo=NEW_YORK)
        if session is None:
            assert not due, local
    if session is not None:
        assert prices_move(session.opens_at) and prices_move(session.closes_at + timedelta(minutes=5))
        assert not prices_move(session.opens_at - timedelta(seconds=1))
        assert not prices_move(session.closes_at + timedelta(minutes=5, seconds=1))


def test_after_an_early_close_the_afternoon_minutes_skip():
    assert not prices_move(datetime(2026, 11, 27, 13, 6, tzinfo=NEW_YORK))
    assert prices_move(datetime(2026, 11, 27, 13, 5, tzinfo=NEW_YORK))
    assert scheduled(datetime(2026, 11, 27, 14, 0, tzinfo=NEW_YORK))  # invoked, and it exits at once


class FakeTime:
    def __init__(self, fetch_seconds: float):
        self.now, self.fetch_seconds, self.starts = 0.0, fetch_seconds, []

    def fetch(self) -> FetchResult:
        self.starts.append(self.now)
        self.now += self.fetch_seconds
        return FetchResult()

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += seconds


@pytest.mark.parametrize(
    ("every", "fetch_seconds", "starts"),
    [(60, 2, [0]), (20, 2, [0, 20, 40]), (25, 2, [0, 25, 50]), (30, 35, [0, 35]), (15, 1, [0, 15, 30, 45])],
)
def test_fetches_within_the_minute_every_interval(every, fetch_seconds, starts):
    clock = FakeTime(fetch_seconds)
    runs = fetch_repeatedly(clock.fetch, every, clock=lambda: clock.now, sleep=clock.sleep)
    assert clock.starts == starts and len(runs) == len(starts)
