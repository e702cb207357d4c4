"""`tickerwatch serve` runs the scheduled jobs itself: both run at start, then on their schedules."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from apigw import LocalServer
from market import quote

from tickerwatch.alerts import AlertDefinition, create_alert
from tickerwatch.data.users import insert_user


def test_serve_runs_fetch_prices_and_evaluate_alerts(db):
    # Given a tracked stock with no bars yet and an alert that is already true,
    user = db.run(lambda conn: insert_user(conn, "alice", "alice", "alice@example.com", "x")).id
    quote(db, "GOOG", 900, datetime.now(UTC) - timedelta(minutes=1))
    create_alert(db, user, AlertDefinition("GOOG", "threshold", "above", threshold_price=Decimal(850)))
    # when the local stack starts with its jobs,
    server = LocalServer().wait_ready()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            bars, fired = db.run(
                lambda conn: (
                    conn.execute("SELECT count(*) AS n FROM price_bars WHERE symbol = 'GOOG'").fetchone()["n"],
                    conn.execute("SELECT count(*) AS n FROM alert_triggers").fetchone()["n"],
                )
            )
            if bars and fired:
                break
            time.sleep(0.3)
    finally:
        server.stop()
    # then fetch_prices has stored GOOG's history and process_prices has fired the alert.
    assert bars == 2148
    assert fired == 1
