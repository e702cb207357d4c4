"""The trading calendar: NYSE sessions with their holidays and early closes.

The sessions come from ``market_sessions.csv``, generated from ``exchange_calendars`` (see
``calendar_source``) and committed, so the Lambda layers need no pandas; migrations load the same
file into the ``market_sessions`` table, over which the SQL function ``market_minutes_between``
counts staleness and gaps. Days outside the table (before 2000, after 2035) follow the plain rule:
weekdays, 09:30-16:00 New York.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
OPEN, CLOSE = time(9, 30), time(16, 0)
SESSION_MINUTES = 390  # a full session; an early close's is shorter (Session.minutes)
TABLE = Path(__file__).with_name("market_sessions.csv")


@dataclass(frozen=True)
class Session:
    day: date
    opens_at: datetime  # UTC
    closes_at: datetime  # UTC
    note: str = ""  # the occasion of an early close

    @property
    def early_close(self) -> bool:
        return self.closes_at.astimezone(NEW_YORK).time() < CLOSE

    @property
    def minutes(self) -> int:
        return int((self.closes_at - self.opens_at).total_seconds() // 60)


def _at(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, tzinfo=NEW_YORK).astimezone(UTC)


@dataclass(frozen=True)
class _Table:
    first: date
    last: date
    rows: dict[date, tuple[str, str, str]]  # weekday -> open, close ("" on a holiday), note


@lru_cache(maxsize=1)
def _table() -> _Table:
    # Sessions are built as they are asked for: parsing all 9,000 up front costs a cold start 0.1 s.
    rows = {}
    with TABLE.open() as fh:
        for line in fh:
            if line[0].isdigit():
                day, opens, closes, note = line.rstrip("\n").split(",", 3)
                rows[date.fromisoformat(day)] = (opens, closes, note)
    return _Table(min(rows), max(rows), rows)


@cache  # at most the ~13,000 days the table spans, and a few outside it
def _session(day: date) -> Session | None:
    table = _table()
    if not table.first <= day <= table.last:
        return Session(day, _at(day, OPEN), _at(day, CLOSE)) if day.weekday() < 5 else None
    opens, closes, note = table.rows.get(day, ("", "", ""))
    if not opens:
        return None
    return Session(day, _at(day, time.fromisoformat(opens)), _at(day, time.fromisoformat(closes)), note)


def table_range() -> tuple[date, date]:
    table = _table()
    return table.first, table.last


def session_on(day: date) -> Session | None:
    """The day's session, or None on a weekend or a holiday."""
    return _session(day)


def closure(day: date) -> str | None:
    """Why the market holds no session on ``day`` ("Thanksgiving", "Weekend"), or None when it does."""
    if session_on(day) is not None:
        return None
    row = _table().rows.get(day)
    return (row[2] if row else "") or "Weekend"


def is_trading_day(day: date) -> bool:
    return session_on(day) is not None


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


def trading_days_ending(last: date, count: int) -> list[date]:
    """``count`` trading days, oldest first, the newest being ``last`` (itself a trading day)."""
    days, day = [], last
    while len(days) < count:
        if is_trading_day(day):
            days.append(day)
        day -= timedelta(days=1)
    return days[::-1]


def next_trading_days(after: date, count: int) -> list[date]:
    """The ``count`` trading days after ``after``."""
    days, day = [], after
    while len(days) < count:
        day = next_trading_day(day)
        days.append(day)
    return days


def sessions_between(start: date, end: date) -> list[Session]:
    """The sessions from ``start`` to ``end``, both included."""
    days = (start + timedelta(days=n) for n in range((end - start).days + 1))
    return [s for s in map(session_on, days) if s is not None]


def session_start(day: date) -> datetime:
    session = session_on(day)
    return session.opens_at if session else _at(day, OPEN)


def close_time(day: date) -> datetime:
    """When a daily bar's close was the price: that day's close (13:00 New York on an early close)."""
    session = session_on(day)
    return session.closes_at if session else _at(day, CLOSE)


def current_session(now: datetime) -> Session | None:
    """The session ``now`` is in (from its open, up to but not including its close), if any."""
    session = session_on(now.astimezone(NEW_YORK).date())
    return session if session and session.opens_at <= now < session.closes_at else None


def next_session(now: datetime) -> Session:
    """The session in progress at ``now``, or else the next one to open."""
    day = now.astimezone(NEW_YORK).date()
    session = session_on(day)
    if session is not None and now < session.closes_at:
        return session
    return session_on(next_trading_day(day))  # type: ignore[return-value]


def session_close_after(now: datetime) -> datetime:
    """The close that ends the session ``now`` is in, or the next session's when the market is shut:
    when a day order placed at ``now`` expires."""
    return next_session(now).closes_at


def session_minute(now: datetime) -> int | None:
    """Whole minutes since today's open (0 to the session's length), or None before the open or on
    a day without a session."""
    session = session_on(now.astimezone(NEW_YORK).date())
    if session is None:
        return None
    elapsed = (now - session.opens_at).total_seconds()
    if elapsed < 0:
        return None
    return min(session.minutes, int(elapsed // 60))


MAX_SESSIONS_SPAN_DAYS = 366


@dataclass(frozen=True)
class MarketState:
    now: datetime
    is_open: bool
    session: Session  # the one in progress, or else the next to open
    closed_for: str | None  # why today holds no session ("Thanksgiving", "Weekend"); None on a trading day


def market_state(now: datetime) -> MarketState:
    today = now.astimezone(NEW_YORK).date()
    return MarketState(now, current_session(now) is not None, next_session(now), closure(today))


def sessions_in(start: date, end: date) -> tuple[list[Session], dict[date, str]]:
    """The sessions from ``start`` to ``end`` and the weekdays among them without one (with why);
    the span is checked (InvalidInput) so that a client cannot ask for a century."""
    from tickerwatch.errors import InvalidInput

    first, last = table_range()
    if end < start:
        raise InvalidInput({"end": ["end must not be before start."]})
    if (end - start).days + 1 > MAX_SESSIONS_SPAN_DAYS:
        raise InvalidInput({"end": [f"At most {MAX_SESSIONS_SPAN_DAYS} days at a time."]})
    if start < first or end > last:
        raise InvalidInput({"start" if start < first else "end": [f"The calendar covers {first} to {last}."]})
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    holidays = {d: closure(d) for d in days if d.weekday() < 5 and not is_trading_day(d)}
    return sessions_between(start, end), holidays  # type: ignore[return-value]


CLOSING_FETCH_MINUTES = 5  # fetches go on this long after a close, for the closing quote


def prices_move(now: datetime) -> bool:
    """A scheduled fetch is worth making: a session is in progress, or closed at most
    CLOSING_FETCH_MINUTES ago (its closing quote may come a little late)."""
    session = session_on(now.astimezone(NEW_YORK).date())
    grace = timedelta(minutes=CLOSING_FETCH_MINUTES)
    return session is not None and session.opens_at <= now <= session.closes_at + grace
