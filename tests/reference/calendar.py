"""The trading calendar, spelled out, from exchange_calendars itself (not the product's generated
table): NYSE sessions with their holidays and early closes."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")


@cache
def _sessions() -> dict[date, tuple[datetime, datetime]]:
    import exchange_calendars

    calendar = exchange_calendars.get_calendar("XNYS", start="2000-01-01", end="2035-12-31")
    return {
        day.date(): (row.open.to_pydatetime(), row.close.to_pydatetime()) for day, row in calendar.schedule.iterrows()
    }


def has_session(day: date) -> bool:
    return day in _sessions()


def session(day: date) -> tuple[datetime, datetime]:
    return _sessions()[day]


def market_minutes(start: datetime, end: datetime) -> float:
    """Minutes of sessions between two instants: each day's overlap with its session, summed."""
    total = 0.0
    day = start.astimezone(NEW_YORK).date()
    while day <= end.astimezone(NEW_YORK).date():
        if has_session(day):
            opens, closes = session(day)
            total += max(0.0, (min(closes, end) - max(opens, start)).total_seconds() / 60)
        day += timedelta(days=1)
    return total


def first_close_after(now: datetime) -> datetime:
    """When a day order placed at ``now`` expires: the first session close strictly after it."""
    day = now.astimezone(NEW_YORK).date()
    while not (has_session(day) and session(day)[1] > now):
        day += timedelta(days=1)
    return session(day)[1]


def next_open_after(now: datetime) -> datetime:
    day = now.astimezone(NEW_YORK).date()
    while not (has_session(day) and session(day)[0] > now):
        day += timedelta(days=1)
    return session(day)[0]
