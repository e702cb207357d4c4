"""market_minutes_between, the SQL function the evaluator measures staleness and gaps with, over the
exchange calendar's sessions."""

from __future__ import annotations

import pytest
from market import ny

CASES = [
    (ny(2024, 5, 15, 10), ny(2024, 5, 15, 11), 60),  # inside a session
    (ny(2024, 5, 15, 8), ny(2024, 5, 15, 10), 30),  # before the open
    (ny(2024, 5, 15, 15), ny(2024, 5, 15, 20), 60),  # past the close
    (ny(2024, 5, 17, 16), ny(2024, 5, 20, 9), 0),  # Friday close to Monday pre-open
    (ny(2024, 5, 17, 16), ny(2024, 5, 20, 11, 30), 120),
    (ny(2024, 5, 17, 17), ny(2024, 5, 20, 10), 30),  # from after Friday's close: its session adds nothing
    (ny(2024, 5, 13, 9, 30), ny(2024, 5, 17, 16), 5 * 390),
    (ny(2024, 3, 8, 15), ny(2024, 3, 11, 10), 90),  # across the DST change
    (ny(2024, 5, 15, 11), ny(2024, 5, 15, 10), 0),  # reversed
    # The calendar's edge days: Thanksgiving 2026 is closed, the Friday after closes at 13:00,
    (ny(2026, 11, 25, 16), ny(2026, 11, 27, 9, 40), 10),
    (ny(2026, 11, 27, 12), ny(2026, 11, 27, 14), 60),
    (ny(2026, 11, 27, 13), ny(2026, 11, 30, 9, 30), 0),
    # Christmas Eve closes at 13:00 and Christmas is closed,
    (ny(2026, 12, 24, 12, 30), ny(2026, 12, 28, 9, 45), 45),
    # Independence Day on a Saturday is observed on Friday 2026-07-03,
    (ny(2026, 7, 2, 15), ny(2026, 7, 6, 10), 90),
    # and the weeks the clocks change (2026-03-08, 2026-11-01): sessions stay 09:30-16:00 New York.
    (ny(2026, 3, 6, 15), ny(2026, 3, 9, 10), 90),
    (ny(2026, 10, 30, 15), ny(2026, 11, 2, 10), 90),
]


@pytest.mark.parametrize(("t0", "t1", "minutes"), CASES)
def test_market_minutes_between(db, t0, t1, minutes):
    sql = db.run(lambda conn: conn.execute("SELECT market_minutes_between(%s, %s) AS m", (t0, t1)).fetchone()["m"])
    assert sql == minutes


def test_no_cap_makes_a_long_age_limit_unreachable(db):
    # Given a price from 2022-03-24 16:00 and "now" in late 2026: about four and a half years of sessions,
    then, now = ny(2022, 3, 24, 16), ny(2026, 11, 23, 12)
    minutes = db.run(
        lambda conn: conn.execute("SELECT market_minutes_between(%s, %s) AS m", (then, now)).fetchone()["m"]
    )
    # then the age is counted in full (1,216 weekdays between, less 46 holidays, 9 of the 1,170 sessions
    # closing at 13:00; 150 minutes on the last day), not capped,
    assert minutes == 1170 * 390 - 9 * 180 + 150
    # so an age limit of 100,000,000 minutes treats it as fresh, and one of 100,000 does not.
    assert minutes < 100_000_000 and minutes > 100_000


def test_a_week_of_sessions_is_five_whatever_the_weekday_it_starts_on(db):
    for start_day in range(13, 20):  # every weekday of the week of 2024-05-13 as the start
        t0 = ny(2024, 5, start_day, 12)
        minutes = db.run(
            lambda conn, t0=t0: conn.execute(
                "SELECT market_minutes_between(%s, %s + interval '7 days') AS m", (t0, t0)
            ).fetchone()["m"]
        )
        assert minutes == 5 * 390, start_day


def test_a_regenerated_calendar_is_loaded_again_and_an_unchanged_one_is_not(db):
    from tickerwatch.data.market import load_sessions

    def count(conn):
        return conn.execute("SELECT count(*) AS n FROM market_sessions").fetchone()["n"]

    loaded = db.run(count)
    assert loaded > 9000 and db.run(load_sessions) is False  # migrated: the file's version is in
    # Given a table that lost a session and was loaded from another version of the file,
    db.run(lambda conn: conn.execute("DELETE FROM market_sessions WHERE day = '2026-11-27'"))
    db.run(lambda conn: conn.execute("UPDATE market_calendar_source SET digest = 'an older file'"))
    # when the migrator runs, it loads the file again.
    assert db.run(load_sessions) is True
    assert db.run(count) == loaded
