"""The replayed market driving the change-driven evaluator: alerts fire as the replayed prices move."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fakes import FixedClock as Clock
from fakes import NullSender

from tickerwatch import bus
from tickerwatch.alerts import AlertDefinition, create_alert
from tickerwatch.data.users import insert_user
from tickerwatch.ingest import fetch_prices
from tickerwatch.market_data import ReplayMarketData
from tickerwatch.market_time import NEW_YORK
from tickerwatch.processing import process_prices

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
MONDAY_10AM = datetime(2026, 11, 23, 10, 0, tzinfo=NEW_YORK)


@pytest.fixture
def subscribed():
    yield
    bus.clear_subscribers()


def test_a_crossing_fires_on_the_fetch_that_brings_it(db, subscribed):
    clock = Clock(MONDAY_10AM)
    market = ReplayMarketData(DATA, seed=7, clock=clock)
    path = market.session_path("GOOG", market._bars("GOOG"), MONDAY_10AM.date())
    start = path[30]  # 10:00
    rises = max(path[31:]) > start * 1.002
    threshold = Decimal(str(round(start * (1.002 if rises else 0.998), 2)))
    condition = "crosses_above" if rises else "crosses_below"
    # the first minute at or beyond the threshold
    later = next(m for m in range(31, 391) if (path[m] >= threshold if rises else path[m] <= threshold))

    # Given the evaluator listens for price changes, as the local server and EventBridge arrange,
    runs = []

    def evaluator(event):
        runs.append(process_prices(db, NullSender(), max_price_age_minutes=120, max_attempts=3, now=clock.now))

    bus.subscribe(bus.PRICES_CHANGED, evaluator)
    announce = lambda symbols: bus.publish_prices_changed(symbols, None)  # noqa: E731
    user = db.run(lambda conn: insert_user(conn, "alice", "alice", "alice@example.com", "x")).id
    fetch_prices(db, market, ["GOOG"], backfill=True, on_changed=announce)
    alert = create_alert(db, user, AlertDefinition("GOOG", "threshold", condition, threshold_price=threshold))
    # The alert counts quotes from its creation; on the injected clock that is 10:00, whatever the real time.
    db.run(lambda conn: conn.execute("UPDATE alerts SET events_after = %s WHERE id = %s", (clock.now, alert.id)))
    assert runs and runs[-1].triggered == 0

    # when the minute's fetches bring the move,
    for minute in range(31, later + 1):
        clock.now = MONDAY_10AM + timedelta(minutes=minute - 30)
        fetch_prices(db, market, None, on_changed=announce)
    # then the alert fired on exactly that fetch, at that minute's price.
    assert [r.triggered for r in runs[-(later - 30) :]] == [0] * (later - 31) + [1]
    trigger = db.run(lambda conn: conn.execute("SELECT price, quoted_at FROM alert_triggers").fetchone())
    assert float(trigger["price"]) == pytest.approx(path[later])
    assert trigger["quoted_at"] == MONDAY_10AM + timedelta(minutes=later - 30)


def test_fetches_without_a_move_wake_nobody(db, subscribed):
    heard = []
    bus.subscribe(bus.PRICES_CHANGED, heard.append)
    clock = Clock(MONDAY_10AM)
    market = ReplayMarketData(DATA, seed=7, clock=clock)
    announce = lambda symbols: bus.publish_prices_changed(symbols, None)  # noqa: E731
    fetch_prices(db, market, ["TSLA"], backfill=True, on_changed=announce)
    assert [e["detail"]["symbols"] for e in heard] == [["TSLA"]]
    fetch_prices(db, market, None, on_changed=announce)  # the same minute again
    assert len(heard) == 1
    clock.now += timedelta(minutes=1)
    fetch_prices(db, market, None, on_changed=announce)
    assert len(heard) == 2 and heard[-1]["detail-type"] == "prices.changed" and heard[-1]["source"] == "tickerwatch"
