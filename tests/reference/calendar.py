"""The trading calendar, spelled out: sessions 09:30-16:00 New York, Monday to Friday (the product
does not model exchange holidays yet, so neither does its reference)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")


def has_session(day: date) -> bool:
    return day.weekday() < 5


def session(day: date) -> tuple[datetime, datetime]:
    return (
        datetime.combine(day, time(9, 30), tzinfo=NEW_YORK).astimezone(UTC),
        datetime.combine(day, time(16, 0), tzinfo=NEW_YORK).astimezone(UTC),
    )


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
