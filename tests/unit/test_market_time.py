"""The trading calendar against its reference (tests/reference/calendar.py), second by second at the
edges: when a day order expires, whatever the moment it is placed."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from reference.calendar import first_close_after, has_session
from reference.calendar import session as session_reference

from tickerwatch.market_time import (
    close_time,
    closure,
    is_trading_day,
    next_trading_day,
    next_trading_days,
    previous_trading_day,
    session_close_after,
    session_minute,
    session_on,
    sessions_between,
)

NY = ZoneInfo("America/New_York")


def moments():
    """Every hour of a week from a Thursday, each session's open and close a second either side,
    and the turns of the days around a weekend and a DST change."""
    start = datetime(2024, 5, 16, 0, 0, tzinfo=NY)
    for hour in range(8 * 24):
        yield (start + timedelta(hours=hour)).astimezone(UTC)
    for day in (16, 17, 18, 19, 20):
        for hh, mm in ((9, 30), (16, 0), (0, 0)):
            edge = datetime(2024, 5, day, hh, mm, tzinfo=NY)
            for seconds in (-1, 0, 1):
                yield (edge + timedelta(seconds=seconds)).astimezone(UTC)
    yield datetime(2024, 3, 8, 17, tzinfo=NY).astimezone(UTC)  # Friday before clocks go forward
    # Thanksgiving week 2026 (closed Thursday, 13:00 on Friday) and Christmas, hour by hour
    for first_day in (datetime(2026, 11, 24, tzinfo=NY), datetime(2026, 12, 23, tzinfo=NY)):
        for hour in range(7 * 24):
            yield (first_day + timedelta(hours=hour)).astimezone(UTC)
    for edge in (datetime(2026, 11, 27, 13, tzinfo=NY), datetime(2026, 12, 24, 13, tzinfo=NY)):
        for seconds in (-1, 0, 1):
            yield (edge + timedelta(seconds=seconds)).astimezone(UTC)


def test_a_day_order_expires_at_the_first_close_after_it_is_placed():
    for moment in moments():
        assert session_close_after(moment) == first_close_after(moment), moment.astimezone(NY)


def test_after_fridays_close_and_at_the_weekend_a_day_order_lives_through_monday():
    monday_close = datetime(2024, 5, 20, 16, tzinfo=NY)
    for placed in (
        datetime(2024, 5, 17, 16, tzinfo=NY),  # Friday, at the close itself
        datetime(2024, 5, 17, 18, 40, tzinfo=NY),
        datetime(2024, 5, 18, 12, tzinfo=NY),
        datetime(2024, 5, 19, 23, 59, 59, tzinfo=NY),
        datetime(2024, 5, 20, 0, 0, tzinfo=NY),
    ):
        assert session_close_after(placed) == monday_close, placed
    assert session_close_after(datetime(2024, 5, 17, 15, 59, 59, tzinfo=NY)) == datetime(2024, 5, 17, 16, tzinfo=NY)


def test_the_generated_table_is_what_exchange_calendars_says():
    # Given the committed table, when it is generated again from the library, then nothing differs
    # (regenerate with `tickerwatch generate-calendar` when the exchange announces a change).
    from tickerwatch.calendar_source import generate
    from tickerwatch.market_time import TABLE

    assert TABLE.read_text() == generate()


def test_the_table_reaches_years_ahead_and_back_to_2000():
    from tickerwatch.market_time import table_range

    first, last = table_range()
    assert first <= date(2000, 1, 3) and last >= date(2035, 12, 31)
    assert last.year - datetime.now(UTC).year >= 5, "regenerate the calendar further ahead"


EDGE_DAYS = [
    # day, its close in New York (None: no session), why it is closed or its note
    (date(2026, 11, 26), None, "Thanksgiving"),
    (date(2026, 11, 27), time(13, 0), "Black Friday"),
    (date(2026, 12, 24), time(13, 0), "Christmas Eve"),
    (date(2026, 12, 25), None, "Christmas"),
    (date(2026, 7, 3), None, "July 4th"),  # observed: the 4th is a Saturday
    (date(2026, 7, 2), time(16, 0), ""),
    (date(2026, 11, 28), None, "Weekend"),
    (date(2026, 3, 9), time(16, 0), ""),  # the Monday after the clocks went forward
    (date(2025, 1, 9), None, "Closed"),  # a national day of mourning, announced weeks before
]


@pytest.mark.parametrize(("day", "close", "why"), EDGE_DAYS, ids=[str(d[0]) for d in EDGE_DAYS])
def test_edge_days(day, close, why):
    session = session_on(day)
    assert has_session(day) is (close is not None)
    if close is None:
        assert session is None and not is_trading_day(day) and closure(day) == why
        return
    assert session.closes_at == datetime.combine(day, close, tzinfo=NY) == session_reference(day)[1]
    assert session.opens_at == datetime.combine(day, time(9, 30), tzinfo=NY)
    assert session.early_close is (close < time(16, 0)) and session.note == why and closure(day) is None


def test_a_day_order_placed_the_evening_before_thanksgiving_lives_through_fridays_early_close():
    placed = datetime(2026, 11, 25, 18, 40, tzinfo=NY)
    assert session_close_after(placed) == datetime(2026, 11, 27, 13, 0, tzinfo=NY)
    # and one placed on that Friday after 13:00 lives through Monday's session
    assert session_close_after(datetime(2026, 11, 27, 13, 0, tzinfo=NY)) == datetime(2026, 11, 30, 16, tzinfo=NY)
    assert session_close_after(datetime(2026, 11, 27, 12, 59, 59, tzinfo=NY)) == datetime(2026, 11, 27, 13, tzinfo=NY)


def test_sessions_and_minutes_follow_the_calendar():
    week = sessions_between(date(2026, 11, 23), date(2026, 11, 29))
    assert [s.day.day for s in week] == [23, 24, 25, 27]
    assert [s.minutes for s in week] == [390, 390, 390, 210]
    assert session_minute(datetime(2026, 11, 27, 14, 0, tzinfo=NY)) == 210  # past the early close: the whole session
    assert session_minute(datetime(2026, 11, 26, 12, 0, tzinfo=NY)) is None
    assert next_trading_day(date(2026, 11, 25)) == date(2026, 11, 27)
    assert previous_trading_day(date(2026, 11, 27)) == date(2026, 11, 25)
    assert previous_trading_day(date(2026, 7, 6)) == date(2026, 7, 2)
    assert next_trading_days(date(2026, 12, 23), 3) == [date(2026, 12, 24), date(2026, 12, 28), date(2026, 12, 29)]
    assert close_time(date(2026, 12, 24)) == datetime(2026, 12, 24, 13, tzinfo=NY)
