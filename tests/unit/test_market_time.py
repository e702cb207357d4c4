"""The trading calendar against its reference (tests/reference/calendar.py), second by second at the
edges: when a day order expires, whatever the moment it is placed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from reference.calendar import first_close_after

from tickerwatch.market_time import session_close_after

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
