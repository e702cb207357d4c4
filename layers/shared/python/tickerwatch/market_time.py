"""The trading calendar: NYSE regular sessions, 09:30-16:00 New York, Monday to Friday.

Exchange holidays are not modelled (a holiday counts as a trading day). The evaluator measures
staleness with the SQL function ``market_minutes_between`` over the same sessions.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
OPEN, CLOSE = time(9, 30), time(16, 0)
SESSION_MINUTES = 390


def is_trading_day(day: date) -> bool:
    return day.weekday() < 5


def previous_trading_day(day: date) -> date:
    """The last trading day strictly before ``day``."""
    day -= timedelta(days=1)
    while not is_trading_day(day):
        day -= timedelta(days=1)
    return day


def next_trading_day(day: date) -> date:
    """The first trading day strictly after ``day``."""
    day += timedelta(days=1)
    while not is_trading_day(day):
        day += timedelta(days=1)
    return day


def session_close_after(now: datetime) -> datetime:
    """The close that ends the session ``now`` is in, or the next session when the market is shut:
    when a day order placed at ``now`` expires."""
    local = now.astimezone(NEW_YORK)
    day = local.date()
    if is_trading_day(day) and local.time() < CLOSE:
        return close_time(day)
    return close_time(next_trading_day(day))


def trading_days_ending(last: date, count: int) -> list[date]:
    """``count`` trading days, oldest first, the newest being ``last`` (itself a trading day)."""
    days, day = [], last
    while len(days) < count:
        if is_trading_day(day):
            days.append(day)
        day -= timedelta(days=1)
    return days[::-1]


def session_start(day: date) -> datetime:
    return datetime.combine(day, OPEN, tzinfo=NEW_YORK).astimezone(UTC)


def close_time(day: date) -> datetime:
    """When a daily bar's close was the price: 16:00 New York on that day."""
    return datetime.combine(day, CLOSE, tzinfo=NEW_YORK).astimezone(UTC)


def session_minute(now: datetime) -> int | None:
    """Whole minutes since today's open (0-390), or None before the open or on a day without a session."""
    local = now.astimezone(NEW_YORK)
    if not is_trading_day(local.date()):
        return None
    elapsed = (now - session_start(local.date())).total_seconds()
    if elapsed < 0:
        return None
    return min(SESSION_MINUTES, int(elapsed // 60))
