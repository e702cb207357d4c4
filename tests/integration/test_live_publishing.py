"""Live events are published only after the transaction that made the change committed: what
fired, filled, expired or moved, to the right channel; a rolled-back change publishes nothing."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fakes import RecordingPublisher, RecordingSender
from market import quote

from tickerwatch import live, processing, trading
from tickerwatch.alerts import AlertDefinition, create_alert
from tickerwatch.data.users import insert_user
from tickerwatch.errors import Unprocessable
from tickerwatch.ingest import fetch_prices
from tickerwatch.market_data import CsvMarketData
from tickerwatch.processing import process_prices

CASH = Decimal("100000")
MARKET = CsvMarketData(Path(os.environ["TICKERWATCH_MARKET_DATA"][4:]))


class CommittedCheck(RecordingPublisher):
    """Records each event with what another connection sees at the moment it is published."""

    def __init__(self, db, look):
        super().__init__()
        self.db, self.look, self.seen = db, look, []

    def publish(self, events):
        self.seen.append(self.db.one(self.look))
        return super().publish(events)


@pytest.fixture
def alice(db):
    return db.run(lambda conn: insert_user(conn, "alice", "alice", "alice@example.com", "x")).id


def fresh(db, price, minutes_ago: float) -> datetime:
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes_ago)
    quote(db, "GOOG", float(price), at)
    return at


def run(db, publisher):
    return process_prices(db, RecordingSender(), max_price_age_minutes=120, max_attempts=3, publisher=publisher)


def order_status(order_id):
    return lambda conn: conn.execute("SELECT status FROM paper_orders WHERE id = %s", (order_id,)).fetchone()["status"]


def place(db, user, publisher=None, **fields):
    request = trading.OrderRequest(**{"symbol": "GOOG", "side": "buy", "qty": Decimal(1), **fields})
    return trading.place_order(
        db, MARKET, user, request, starting_cash=CASH, max_price_age_minutes=120, publisher=publisher
    )[0]


def test_a_fill_and_a_fired_alert_reach_their_owner_after_the_commit(db, alice):
    fresh(db, "100", minutes_ago=5)
    order = place(db, alice, order_type="limit", limit_price=Decimal("95"), time_in_force="gtc")
    alert = create_alert(db, alice, AlertDefinition("GOOG", "threshold", "below", threshold_price=Decimal("96")))
    run(db, RecordingPublisher())
    quoted = fresh(db, "95", minutes_ago=3)
    publisher = CommittedCheck(db, order_status(order.id))
    summary = run(db, publisher)
    assert summary.orders_filled == 1 and summary.triggered == 1
    assert set(publisher.seen) == {"filled"}  # another connection already saw the fill when it was published
    by_type = {e.payload["type"]: e for e in publisher.events}
    # and then the emails about the trigger and the fill, each once sent
    assert set(by_type) == {live.ALERT_TRIGGERED, live.ORDER_FILLED, live.PORTFOLIO_CHANGED, live.NOTIFICATION_SENT}
    assert len(publisher.of_type(live.NOTIFICATION_SENT)) == 2
    assert all(e.channel == f"/users/{alice}" for e in publisher.events)
    fired = by_type[live.ALERT_TRIGGERED].payload
    assert (fired["alert_id"], fired["symbol"], fired["price"]) == (alert.id, "GOOG", 95.0)
    assert datetime.fromisoformat(fired["quoted_at"]) == quoted
    assert by_type[live.ORDER_FILLED].payload == {"type": live.ORDER_FILLED, "order_id": order.id, "symbol": "GOOG"}
    quiet = RecordingPublisher()
    run(db, quiet)
    assert quiet.events == []  # nothing new: nothing told twice


def test_a_rolled_back_run_publishes_nothing(db, alice, monkeypatch):
    fresh(db, "100", minutes_ago=5)
    order = place(db, alice, order_type="limit", limit_price=Decimal("95"), time_in_force="gtc")
    run(db, RecordingPublisher())
    fresh(db, "95", minutes_ago=3)

    def fails(conn, now):
        raise RuntimeError("the connection dropped before the commit")

    # Given a run whose transaction fails after the fill was written,
    monkeypatch.setattr(processing.trading_store, "expire_day_orders", fails)
    publisher = RecordingPublisher()
    with pytest.raises(RuntimeError):
        run(db, publisher)
    # then nothing was published and nothing was kept,
    assert publisher.events == [] and db.one(order_status(order.id)) == "open"
    monkeypatch.undo()
    # and the next run fills it and tells its owner once.
    again = RecordingPublisher()
    assert run(db, again).orders_filled == 1 and len(again.of_type(live.ORDER_FILLED)) == 1


def test_a_market_order_is_published_filled_after_its_commit_and_a_refused_one_not_at_all(db, alice):
    fresh(db, "100", minutes_ago=1)
    publisher = CommittedCheck(db, lambda conn: conn.execute("SELECT count(*) AS n FROM paper_fills").fetchone()["n"])
    filled = place(db, alice, publisher)
    assert filled.status == "filled" and publisher.seen == [1]
    assert [e.payload["type"] for e in publisher.events] == [live.ORDER_FILLED, live.PORTFOLIO_CHANGED]
    refused = RecordingPublisher()
    with pytest.raises(Unprocessable):
        place(db, alice, refused, qty=Decimal("100000"))  # more than the cash
    assert refused.events == []
    resting = RecordingPublisher()
    order = place(db, alice, resting, order_type="limit", limit_price=Decimal("50"), time_in_force="gtc")
    assert [e.payload["type"] for e in resting.events] == [live.PORTFOLIO_CHANGED]  # cash now held back
    canceled = RecordingPublisher()
    trading.cancel_order(db, alice, order.id, CASH, canceled)
    assert [e.payload["type"] for e in canceled.events] == [live.ORDER_CANCELED, live.PORTFOLIO_CHANGED]


def test_a_fetch_publishes_each_moved_quote_after_its_commit(db):
    publisher = CommittedCheck(db, lambda conn: conn.execute("SELECT count(*) AS n FROM quotes").fetchone()["n"])
    fetch_prices(
        db,
        MARKET,
        ["GOOG", "TSLA"],
        on_quotes=lambda quotes: publisher.publish([live.price_event(q.symbol, q.price, q.time) for q in quotes]),
    )
    assert publisher.seen and publisher.seen[0] >= 2
    assert sorted(e.channel for e in publisher.events) == ["/prices/GOOG", "/prices/TSLA"]
    heard = []
    fetch_prices(db, MARKET, None, on_quotes=heard.append)
    assert heard == []  # the same quotes: nothing moved, nothing published


def test_a_sent_and_a_failed_notification_reach_their_owner_after_their_commit(db, alice):
    fresh(db, "100", minutes_ago=5)
    create_alert(db, alice, AlertDefinition("GOOG", "threshold", "below", threshold_price=Decimal("96")))
    run(db, RecordingPublisher())
    fresh(db, "95", minutes_ago=3)
    publisher = RecordingPublisher()
    process_prices(db, RecordingSender(fail_times=1), max_price_age_minutes=120, max_attempts=1, publisher=publisher)
    [failed] = publisher.of_type(live.NOTIFICATION_FAILED)
    assert failed.channel == f"/users/{alice}" and failed.payload["will_retry"] is False  # one attempt allowed
    assert failed.payload["channel"] == "email" and failed.payload["symbol"] == "GOOG"
    assert publisher.of_type(live.NOTIFICATION_SENT) == []
    create_alert(db, alice, AlertDefinition("GOOG", "threshold", "below", threshold_price=Decimal("94")))
    run(db, RecordingPublisher())
    fresh(db, "93", minutes_ago=1)
    sent = RecordingPublisher()
    run(db, sent)
    [told] = sent.of_type(live.NOTIFICATION_SENT)
    assert told.payload["alert_id"] and told.channel == f"/users/{alice}"
