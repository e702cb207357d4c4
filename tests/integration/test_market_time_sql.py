"""market_minutes_between, the SQL function the evaluator measures staleness and gaps with."""

from __future__ import annotations

import pytest
from market import ny

CASES = [
    (ny(2024, 5, 15, 10), ny(2024, 5, 15, 11), 60),  # inside a session
    (ny(2024, 5, 15, 8), ny(2024, 5, 15, 10), 30),  # before the open
    (ny(2024, 5, 15, 15), ny(2024, 5, 15, 20), 60),  # past the close
    (ny(2024, 5, 17, 16), ny(2024, 5, 20, 9), 0),  # Friday close to Monday pre-open
    (ny(2024, 5, 17, 16), ny(2024, 5, 20, 11, 30), 120),
    (ny(2024, 5, 13, 9, 30), ny(2024, 5, 17, 16), 5 * 390),
    (ny(2024, 3, 8, 15), ny(2024, 3, 11, 10), 90),  # across the DST change
    (ny(2024, 5, 15, 11), ny(2024, 5, 15, 10), 0),  # reversed
]


@pytest.mark.parametrize(("t0", "t1", "minutes"), CASES)
def test_market_minutes_between(db, t0, t1, minutes):
    sql = db.run(lambda conn: conn.execute("SELECT market_minutes_between(%s, %s) AS m", (t0, t1)).fetchone()["m"])
    assert sql == minutes
