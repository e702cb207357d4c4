"""Paper trading through the API (Lambda handler and HTTP) and the evaluator: fills at the quote,
resting orders matched as quotes change, buying power, idempotency, cancel, expiry, reset, history,
exact money, and the guarantees under concurrency and crashes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from fakes import RecordingPoster, RecordingSender
from market import WED_3PM, quote

from tickerwatch import trading
from tickerwatch.data import trading as store
from tickerwatch.data.users import insert_user
from tickerwatch.errors import Conflict, Unprocessable
from tickerwatch.market_data import CsvMarketData
from tickerwatch.processing import process_prices

ORDERS, PORTFOLIO = "/api/v1/orders/", "/api/v1/portfolio/"
CASH = Decimal("100000")


def fresh(db, symbol: str, price, minutes_ago: float = 1) -> datetime:
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes_ago)
    quote(db, symbol, float(price), at)
    return at


def submit(api, auth, **body):
    return api.request(
        "POST", ORDERS, json_body={"symbol": "GOOG", "side": "buy", "type": "market", **body}, headers=auth
    )


def evaluate(db, now=None, sender=None):
    return process_prices(db, sender or RecordingSender(), max_price_age_minutes=120, max_attempts=3, now=now)


def ledger_holds(db, user_id: int) -> None:
    """cash + cost bases = starting cash + realized P&L; cash covers open buys; shares cover open sells."""

    def check(conn):
        a = conn.execute("SELECT * FROM paper_accounts WHERE user_id = %s", (user_id,)).fetchone()
        if a is None:  # opened on first use; until then nothing can refer to it
            assert conn.execute("SELECT 1 FROM paper_orders WHERE user_id = %s", (user_id,)).fetchone() is None
            return
        basis = conn.execute(
            "SELECT coalesce(sum(cost_basis), 0) AS b FROM paper_positions WHERE user_id = %s", (user_id,)
        ).fetchone()["b"]
        assert a["cash"] + basis == a["starting_cash"] + a["realized_pl"]
        held, _ = store.reservations(conn, user_id)
        assert 0 <= held <= a["cash"]
        short = conn.execute(
            """SELECT o.symbol FROM paper_orders o LEFT JOIN paper_positions p
                 ON p.user_id = o.user_id AND p.symbol = o.symbol
                WHERE o.user_id = %s AND o.status = 'open' AND o.side = 'sell'
                GROUP BY o.symbol, p.qty HAVING sum(o.qty) > coalesce(p.qty, 0)""",
            (user_id,),
        ).fetchall()
        assert short == []

    db.run(check)


# ---------------------------------------------------------------- over the API


def test_a_market_buy_fills_at_the_quote_and_the_portfolio_shows_it_exactly(api, users, db):
    auth = users.signed_in()
    fresh(db, "GOOG", "806.19")
    reply = submit(api, auth, qty="1.5")
    assert reply.status_code == 201, reply.content
    order = reply.json()
    assert order["status"] == "filled" and order["type"] == "market" and order["time_in_force"] == "day"
    assert Decimal(order["filled_qty"]) == Decimal("1.5") and Decimal(order["filled_avg_price"]) == Decimal("806.19")
    assert order["filled_at"] and order["reject_reason"] is None

    book = api.request("GET", PORTFOLIO, headers=auth).json()
    # 1.5 x 806.19 = 1209.285, settled half up to the cent
    assert Decimal(book["cash"]) == CASH - Decimal("1209.29") == Decimal(book["buying_power"])
    assert Decimal(book["starting_cash"]) == CASH and Decimal(book["realized_pl"]) == 0
    [position] = book["positions"]
    assert position["symbol"] == "GOOG" and Decimal(position["qty"]) == Decimal("1.5")
    assert Decimal(position["avg_price"]) == Decimal("806.193333") and Decimal(position["cost_basis"]) == Decimal(
        "1209.29"
    )
    assert Decimal(position["market_value"]) == Decimal("1209.29") and Decimal(book["equity"]) == CASH

    fresh(db, "GOOG", "810.00", minutes_ago=0.5)
    book = api.request("GET", PORTFOLIO, headers=auth).json()
    assert Decimal(book["positions"][0]["unrealized_pl"]) == Decimal("1215.00") - Decimal("1209.29")
    assert Decimal(book["equity"]) == CASH - Decimal("1209.29") + Decimal("1215.00")

    sold = submit(api, auth, side="sell", qty="0.5")
    assert sold.status_code == 201 and sold.json()["status"] == "filled"
    book = api.request("GET", PORTFOLIO, headers=auth).json()
    # the half share's cost: 1209.29 / 3 = 403.0966.. -> 403.10; sold for 405.00
    assert Decimal(book["realized_pl"]) == Decimal("405.00") - Decimal("403.10")
    assert Decimal(book["positions"][0]["cost_basis"]) == Decimal("806.19")


def test_a_market_order_on_a_stale_quote_is_refused_with_its_age_and_changes_nothing(api, users, db):
    auth = users.signed_in()
    quote(db, "GOOG", 806.19, WED_3PM)  # years ago
    reply = submit(api, auth, qty=1)
    assert reply.status_code == 409
    assert "market minutes old" in reply.json()["detail"] and "GOOG" in reply.json()["detail"]
    assert api.request("GET", ORDERS, headers=auth).json()["count"] == 0
    # a limit order can rest on it instead
    resting = submit(api, auth, qty=1, type="limit", limit_price="900")
    assert resting.status_code == 201 and resting.json()["status"] == "open"


def test_a_resting_limit_reserves_buying_power_until_canceled(api, users, db):
    auth = users.signed_in()
    fresh(db, "GOOG", "806.19")
    reply = submit(api, auth, qty="10", type="limit", limit_price="700.0001", time_in_force="gtc")
    assert reply.status_code == 201, reply.content
    order = reply.json()
    assert order["status"] == "open" and order["expires_at"] is None and order["filled_at"] is None
    book = api.request("GET", PORTFOLIO, headers=auth).json()
    # 10 x 700.0001 = 7000.001, reserved rounded up to the cent
    assert Decimal(book["cash"]) == CASH and Decimal(book["buying_power"]) == CASH - Decimal("7000.01")

    too_much = submit(api, auth, qty="117", type="limit", limit_price="800")
    assert too_much.status_code == 422
    assert too_much.json()["detail"] == "Insufficient buying power: needs 93,600.00, has 92,999.99."

    url = f"{ORDERS}{order['id']}/"
    canceled = api.request("DELETE", url, headers=auth)
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled" and canceled.json()["canceled_at"]
    assert Decimal(api.request("GET", PORTFOLIO, headers=auth).json()["buying_power"]) == CASH
    again = api.request("DELETE", url, headers=auth)
    assert (
        again.status_code == 422
        and again.json()["detail"] == f"Order {order['id']} is canceled; only an open order can be canceled."
    )


def test_no_short_selling_and_open_sells_reserve_their_shares(api, users, db):
    auth = users.signed_in()
    fresh(db, "GOOG", "100")
    short = submit(api, auth, side="sell", qty=1)
    assert short.status_code == 422 and short.json()["detail"] == "Insufficient shares of GOOG: needs 1, has 0."
    assert submit(api, auth, qty=3).json()["status"] == "filled"
    resting = submit(api, auth, side="sell", qty=2, type="limit", limit_price=150)
    assert resting.json()["status"] == "open"
    over = submit(api, auth, side="sell", qty="1.5")
    assert over.status_code == 422 and over.json()["detail"] == "Insufficient shares of GOOG: needs 1.5, has 1."
    exactly = submit(api, auth, side="sell", qty="1")  # exactly the shares no open sell holds back
    assert exactly.status_code == 201 and exactly.json()["status"] == "filled"


def test_an_order_costing_exactly_the_buying_power_fills_and_a_cent_more_is_refused(api, users, db):
    auth = users.signed_in()
    fresh(db, "GOOG", "100")
    over = submit(api, auth, qty="1000.0001")  # 100,000.01 against 100,000.00
    assert over.status_code == 422
    assert over.json()["detail"] == "Insufficient buying power: needs 100,000.01, has 100,000.00."
    exact = submit(api, auth, qty="1000")
    assert exact.status_code == 201 and exact.json()["status"] == "filled", exact.content
    book = api.request("GET", PORTFOLIO, headers=auth).json()
    assert Decimal(book["cash"]) == 0 == Decimal(book["buying_power"])


def test_selling_a_whole_position_fills_and_closes_it(api, users, db):
    auth = users.signed_in()
    fresh(db, "GOOG", "100")
    assert submit(api, auth, qty="3.5").json()["status"] == "filled"
    fresh(db, "GOOG", "110", minutes_ago=0.5)
    sold = submit(api, auth, side="sell", qty="3.5")
    assert sold.status_code == 201 and sold.json()["status"] == "filled", sold.content
    book = api.request("GET", PORTFOLIO, headers=auth).json()
    assert book["positions"] == [] and Decimal(book["realized_pl"]) == Decimal("35.00")
    assert Decimal(book["cash"]) == CASH + Decimal("35.00")


def test_an_open_sell_of_one_stock_holds_back_only_that_stocks_shares(api, users, db):
    auth = users.signed_in()
    fresh(db, "GOOG", "100")
    fresh(db, "TSLA", "200")
    assert submit(api, auth, qty=2).json()["status"] == "filled"
    assert submit(api, auth, symbol="TSLA", qty=2).json()["status"] == "filled"
    resting = submit(api, auth, side="sell", qty=2, type="limit", limit_price=150)
    assert resting.json()["status"] == "open"
    tsla = submit(api, auth, symbol="TSLA", side="sell", qty=2)
    assert tsla.status_code == 201 and tsla.json()["status"] == "filled", tsla.content
    assert submit(api, auth, side="sell", qty="0.000001").status_code == 422  # GOOG's two are held back


def test_client_order_id_makes_a_submission_idempotent(api, users, db):
    auth = users.signed_in()
    fresh(db, "GOOG", "100")
    first = submit(api, auth, qty="2", client_order_id="abc-1")
    assert first.status_code == 201
    again = submit(api, auth, qty=2.0, client_order_id="abc-1")  # the same order, written another way
    assert again.status_code == 200 and again.json() == first.json()
    lower = submit(api, auth, symbol="goog", qty="2.000000", client_order_id="abc-1")
    assert lower.status_code == 200 and lower.json() == first.json()
    other = submit(api, auth, qty="3", client_order_id="abc-1")
    assert other.status_code == 409 and other.fields() == {
        "client_order_id": ["This client_order_id was used for a different order."]
    }
    assert api.request("GET", ORDERS, headers=auth).json()["count"] == 1
    assert Decimal(api.request("GET", PORTFOLIO, headers=auth).json()["cash"]) == CASH - 200
    # another user's id space is their own
    assert submit(api, users.signed_in("bob"), qty="3", client_order_id="abc-1").status_code == 201


BAD_ORDERS = [
    ({"qty": 0}, "qty"),
    ({"qty": "-1"}, "qty"),
    ({"qty": "NaN"}, "qty"),
    ({"qty": "1e3"}, "qty"),
    ({"qty": 1e30}, "qty"),
    ({"qty": "0.1234567"}, "qty"),
    ({"qty": 0.1234567}, "qty"),
    ({"qty": True}, "qty"),
    ({"qty": 1, "type": "limit"}, "limit_price"),
    ({"qty": 1, "type": "stop", "limit_price": 10}, "limit_price stop_price"),
    ({"qty": 1, "limit_price": 10}, "limit_price"),
    ({"qty": 1, "type": "limit", "limit_price": "10.12345"}, "limit_price"),
    ({"qty": 1, "type": "limit", "limit_price": 10_000_000}, "limit_price"),
    ({"qty": 1, "side": "short"}, "side"),
    ({"qty": 1, "type": "trailing_stop"}, "type"),
    ({"qty": 1, "time_in_force": "ioc"}, "time_in_force"),
    ({"qty": 1, "client_order_id": "has space"}, "client_order_id"),
    ({"qty": 1, "client_order_id": "x" * 129}, "client_order_id"),
    ({"qty": 1, "webhook_id": 99}, "webhook_id"),
    ({"qty": 1, "symbol": "bad symbol!"}, "symbol"),
]


def test_bad_orders_are_400_naming_the_field(api, users, db):
    fresh(db, "GOOG", "100")
    everyone = []
    for n, (body, field) in enumerate(BAD_ORDERS):
        if n % 9 == 0:  # refused orders count against the limit of 10 a minute too: a new user every 9
            everyone.append(users.signed_in(f"bad{n // 9}"))
        reply = submit(api, everyone[-1], **body)
        assert reply.status_code == 400, (body, reply.content)
        assert sorted(reply.fields()) == field.split(), body
    for auth in everyone:
        assert api.request("GET", ORDERS, headers=auth).json()["count"] == 0


def test_an_untracked_real_symbol_is_tracked_first_and_an_unknown_one_is_404(api, users, db):
    auth = users.signed_in()
    tsla = submit(api, auth, symbol="tsla", qty=1, type="limit", limit_price=100)
    assert tsla.status_code == 201, tsla.content
    assert tsla.json()["symbol"] == "TSLA" and tsla.json()["status"] == "open"  # the CSV's quotes are old
    assert [s["symbol"] for s in api.request("GET", "/api/v1/stocks/").json()] == ["TSLA"]
    assert submit(api, auth, symbol="NOPE", qty=1).status_code == 404


def test_another_users_order_is_404_everywhere_and_listing_filters(api, users, db):
    alice, bob = users.signed_in("alice"), users.signed_in("bob")
    fresh(db, "GOOG", "100")
    fresh(db, "TSLA", "200")
    filled = submit(api, alice, qty=1).json()
    resting = submit(api, alice, symbol="TSLA", qty=1, type="limit", limit_price=150).json()
    for method in ("GET", "DELETE"):
        assert api.request(method, f"{ORDERS}{resting['id']}/", headers=bob).status_code == 404
    assert api.request("GET", f"{ORDERS}{resting['id']}/", headers=alice).json() == resting
    assert api.request("GET", ORDERS, headers=bob).json()["count"] == 0

    def ids(**params):
        return [o["id"] for o in api.request("GET", ORDERS, headers=alice, params=params).json()["results"]]

    assert ids(status="open") == [resting["id"]]
    assert ids(status="closed") == [filled["id"]]
    assert ids(status="all") == ids() == [resting["id"], filled["id"]]
    assert ids(symbol="goog") == [filled["id"]]
    assert ids(limit=1, offset=1) == [filled["id"]]
    assert api.request("GET", ORDERS, headers=alice, params={"status": "done"}).status_code == 400
    assert api.request("GET", f"{ORDERS}{2**63}/", headers=alice).status_code in (400, 404)


def test_orders_are_rate_limited_per_user(lambda_api, db, settings_env):
    from conftest import Users

    settings_env(RATE_LIMIT_ORDERS_PER_USER="3")
    api, users = lambda_api, Users(lambda_api)
    auth = users.signed_in()
    fresh(db, "GOOG", "100")
    codes = [submit(api, auth, qty=1).status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    limited = submit(api, auth, qty=1)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert submit(api, users.signed_in("bob"), qty=1).status_code == 201  # per user


def test_reset_returns_to_starting_cash_cancels_open_orders_and_keeps_history(lambda_api, db, settings_env):
    from conftest import Users

    settings_env(TICKERWATCH_PAPER_STARTING_CASH="2500.50")
    api = lambda_api
    auth = Users(lambda_api).signed_in()
    fresh(db, "GOOG", "100")
    submit(api, auth, qty=3)
    resting = submit(api, auth, qty=1, type="limit", limit_price=50).json()
    book = api.request("POST", f"{PORTFOLIO}reset/", headers=auth)
    assert book.status_code == 200
    body = book.json()
    assert Decimal(body["cash"]) == Decimal("2500.50") == Decimal(body["equity"]) == Decimal(body["buying_power"])
    assert body["positions"] == [] and Decimal(body["realized_pl"]) == 0
    order = api.request("GET", f"{ORDERS}{resting['id']}/", headers=auth).json()
    assert order["status"] == "canceled" and order["reject_reason"] == "Canceled by an account reset."
    assert api.request("GET", ORDERS, headers=auth).json()["count"] == 2  # history kept

    history = api.request("GET", f"{PORTFOLIO}history/", headers=auth)
    assert history.status_code == 200
    assert Decimal(history.json()[-1]["equity"]) == Decimal("2500.50")


# ---------------------------------------------------------------- matching resting orders


@pytest.fixture
def user(db):
    return db.run(lambda conn: insert_user(conn, "alice", "alice", "alice@example.com", "x")).id


def place(db, user_id, **fields) -> store.OrderRow:
    order = trading.OrderRequest(**{"symbol": "GOOG", "side": "buy", "qty": Decimal(1), **fields})
    placed, _ = trading.place_order(
        db,
        CsvMarketData(os.environ["TICKERWATCH_MARKET_DATA"][4:]),
        user_id,
        order,
        starting_cash=CASH,
        max_price_age_minutes=120,
    )
    return placed


@pytest.mark.parametrize(
    ("side", "kind", "trigger", "fills_at", "stays_at"),
    [
        ("buy", "limit", "95", "95", "95.01"),
        ("sell", "limit", "105", "105", "104.99"),
        ("buy", "stop", "105", "105", "104.99"),
        ("sell", "stop", "95", "95", "95.01"),
    ],
)
def test_a_resting_order_fills_when_a_changed_quote_reaches_it(db, user, side, kind, trigger, fills_at, stays_at):
    fresh(db, "GOOG", "100", minutes_ago=5)
    if side == "sell":
        place(db, user, qty=Decimal(2))
    price_field = "limit_price" if kind == "limit" else "stop_price"
    order = place(db, user, side=side, order_type=kind, **{price_field: Decimal(trigger)}, time_in_force="gtc")
    assert order.status == "open"
    evaluate(db)
    fresh(db, "GOOG", stays_at, minutes_ago=4)
    assert evaluate(db).orders_filled == 0
    fresh(db, "GOOG", fills_at, minutes_ago=3)
    sender = RecordingSender()
    summary = evaluate(db, sender=sender)
    assert summary.orders_filled == 1
    filled = trading.get_order(db, user, order.id)
    assert filled.status == "filled" and filled.filled_avg_price == Decimal(fills_at)
    # told once, by email
    assert [e.subject for e in sender.sent] == [
        f"tickerwatch paper order filled: {side} 1 GOOG ({kind} {Decimal(trigger):.2f})"
    ]
    assert f"Fill price: {Decimal(fills_at):.4f}" in sender.sent[0].text
    again = RecordingSender()
    assert evaluate(db, sender=again).orders_filled == 0 and again.sent == []
    ledger_holds(db, user)


def test_matching_reads_only_the_orders_a_price_reaches(db, user):
    fresh(db, "GOOG", "100", minutes_ago=5)
    for limit in range(50, 100):
        place(db, user, order_type="limit", limit_price=Decimal(limit), time_in_force="gtc")

    def plan(conn):
        # With 50 rows a sequential scan is cheapest, and what the planner believes about the table
        # depends on what earlier tests left in its statistics: the question is whether the index can
        # serve the match reading only the orders the price reached, so the planner is made to try, on
        # statistics of this test's rows (an autovacuum's ANALYZE of the emptied table, left by an
        # earlier test, made it pick another index: seen when the suite ran shuffled).
        conn.execute("ANALYZE paper_orders")
        conn.execute("SET LOCAL enable_seqscan = off")
        rows = conn.execute(
            "EXPLAIN (ANALYZE, FORMAT JSON) " + store.MATCH_RESTING_ORDERS,
            {
                "symbols": ["GOOG"],
                "quoted": [datetime.now(UTC)],
                "prices": [Decimal("97.5")],
                "since": [None],
                "now": datetime.now(UTC),
            },
        ).fetchone()
        conn.rollback()
        return rows

    found = db.run(plan)
    text = str(found)
    assert "paper_orders_resting_idx" in text

    def scanned(node):
        own = node.get("Actual Rows", 0) if node.get("Relation Name") == "paper_orders" else 0
        return own + sum(scanned(child) for child in node.get("Plans", []))

    # limits 98 and 99 are reached by 97.5; the other 48 orders are never read
    root = next(iter(found.values()))[0]["Plan"]
    assert scanned(root) == 2


def test_a_day_order_expires_at_the_close_and_a_gtc_order_does_not(db, user):
    fresh(db, "GOOG", "100", minutes_ago=5)
    day = place(db, user, order_type="limit", limit_price=Decimal(90))
    gtc = place(db, user, order_type="limit", limit_price=Decimal(90), time_in_force="gtc")
    assert day.expires_at is not None and gtc.expires_at is None
    assert evaluate(db, now=day.expires_at - timedelta(seconds=1)).orders_expired == 0
    # a quote after the close reaches both: the day order has expired, the gtc one fills
    quote(db, "GOOG", 85.0, day.expires_at + timedelta(minutes=1))
    summary = evaluate(db, now=day.expires_at + timedelta(minutes=2))
    assert (summary.orders_expired, summary.orders_filled) == (1, 1)
    assert trading.get_order(db, user, day.id).status == "expired"
    assert trading.get_order(db, user, gtc.id).status == "filled"
    held, _ = db.run(lambda conn: store.reservations(conn, user))
    assert held == 0


def test_a_day_order_placed_after_fridays_close_rests_through_mondays_session(lambda_api, clock):
    from conftest import Users
    from market import ny

    auth = Users(lambda_api).signed_in()
    quote(clock.db, "GOOG", 100.0, ny(2024, 5, 17, 15, 59))
    clock.set(ny(2024, 5, 17, 18, 40))  # Friday evening
    reply = submit(lambda_api, auth, qty=1, type="limit", limit_price=90)
    assert reply.status_code == 201 and reply.json()["status"] == "open"
    assert datetime.fromisoformat(reply.json()["expires_at"]) == ny(2024, 5, 20, 16)
    clock.set(ny(2024, 5, 20, 10))  # Monday morning: still open, and a quote that reaches it fills it
    quote(clock.db, "GOOG", 89.0, ny(2024, 5, 20, 10))
    summary = evaluate(clock.db)
    assert (summary.orders_expired, summary.orders_filled) == (0, 1)


def test_a_quote_stamped_exactly_at_the_close_fills_a_day_order(db, user):
    """The closing price belongs to the session: a day order is matched on quotes up to and including
    its close (as at a real broker, whose day orders take part in the closing auction)."""
    fresh(db, "GOOG", "100", minutes_ago=5)
    day = place(db, user, order_type="limit", limit_price=Decimal(90))
    gtc = place(db, user, order_type="limit", limit_price=Decimal(90), time_in_force="gtc")
    quote(db, "GOOG", 85.0, day.expires_at)
    summary = evaluate(db, now=day.expires_at)
    assert (summary.orders_filled, summary.orders_expired) == (2, 0)
    assert trading.get_order(db, user, day.id).status == "filled"
    assert trading.get_order(db, user, gtc.id).status == "filled"


def test_a_quote_a_second_after_the_close_does_not_fill_a_day_order(db, user):
    fresh(db, "GOOG", "100", minutes_ago=5)
    day = place(db, user, order_type="limit", limit_price=Decimal(90))
    quote(db, "GOOG", 85.0, day.expires_at + timedelta(seconds=1))
    summary = evaluate(db, now=day.expires_at + timedelta(seconds=1))
    assert (summary.orders_filled, summary.orders_expired) == (0, 1)
    assert trading.get_order(db, user, day.id).status == "expired"


def test_a_day_order_expires_at_its_close_once_the_closing_quote_is_judged(db, user):
    fresh(db, "GOOG", "100", minutes_ago=5)
    day = place(db, user, order_type="limit", limit_price=Decimal(90))
    quote(db, "GOOG", 95.0, day.expires_at)  # the closing quote, not reaching it
    assert evaluate(db, now=day.expires_at - timedelta(seconds=1)).orders_expired == 0
    assert evaluate(db, now=day.expires_at).orders_expired == 1
    assert trading.get_order(db, user, day.id).status == "expired"


def test_a_day_order_waits_for_its_closing_quote_then_expires(db, user):
    """A fetch may write the closing quote after the close: until a quote at or after the close was
    judged, or 30 minutes have passed, a day order stays open for it."""
    fresh(db, "GOOG", "100", minutes_ago=5)
    day = place(db, user, order_type="limit", limit_price=Decimal(90))
    close = day.expires_at
    quote(db, "GOOG", 99.0, close - timedelta(minutes=1))
    assert evaluate(db, now=close + timedelta(seconds=5)).orders_expired == 0  # the closing quote is not in
    quote(db, "GOOG", 89.0, close)  # written late, stamped at the close
    assert evaluate(db, now=close + timedelta(minutes=2)).orders_filled == 1
    assert trading.get_order(db, user, day.id).status == "filled"

    fresh(db, "TSLA", "200", minutes_ago=5)  # a stock whose closing quote never comes (halted)
    waiting = place(db, user, symbol="TSLA", order_type="limit", limit_price=Decimal(50))
    assert waiting.expires_at == close
    later = evaluate(db, now=close + timedelta(minutes=29, seconds=59))
    assert later.orders_expired == 0 and trading.get_order(db, user, waiting.id).status == "open"
    assert evaluate(db, now=close + timedelta(minutes=30)).orders_expired == 1


def test_a_stale_quote_fills_no_resting_order(db, user):
    fresh(db, "GOOG", "100", minutes_ago=5)
    order = place(db, user, order_type="limit", limit_price=Decimal(99), time_in_force="gtc")
    at = fresh(db, "GOOG", "98", minutes_ago=4)
    summary = evaluate(db, now=at + timedelta(days=10))  # thousands of market minutes later
    assert summary.skipped_stale == 1 and summary.orders_filled == 0
    assert trading.get_order(db, user, order.id).status == "open"


def test_an_order_marketable_on_arrival_fills_at_the_quote(db, user):
    fresh(db, "GOOG", "100")
    place(db, user, qty=Decimal(5))
    cases = [
        ("buy", "limit", "100.50"),  # price improvement: filled at the quote, not the limit
        ("buy", "limit", "100"),
        ("sell", "limit", "100"),
        ("buy", "stop", "100"),
        ("sell", "stop", "100"),
    ]
    for side, kind, trigger in cases:
        price_field = "limit_price" if kind == "limit" else "stop_price"
        order = place(db, user, side=side, order_type=kind, **{price_field: Decimal(trigger)})
        assert (order.status, order.filled_avg_price) == ("filled", Decimal(100)), (side, kind, trigger)
    for side, kind, trigger in [("buy", "limit", "99.99"), ("sell", "stop", "99.99")]:
        price_field = "limit_price" if kind == "limit" else "stop_price"
        assert place(db, user, side=side, order_type=kind, **{price_field: Decimal(trigger)}).status == "open"
    ledger_holds(db, user)


def test_a_fill_of_an_order_no_longer_open_changes_nothing(db, user):
    fresh(db, "GOOG", "100")
    order = place(db, user, order_type="limit", limit_price=Decimal(90), time_in_force="gtc")
    trading.cancel_order(db, user, order.id, CASH)
    now = datetime.now(UTC)
    assert db.run(lambda conn: store.fill(conn, order.id, Decimal(89), now, now, True)) is None
    assert trading.get_order(db, user, order.id).status == "canceled"
    assert trading.portfolio(db, user, CASH)["cash"] == CASH
    assert db.run(lambda conn: conn.execute("SELECT count(*) AS n FROM paper_fills").fetchone()["n"]) == 0


def test_a_resting_buy_whose_fill_costs_exactly_the_cash_left_fills(db, user):
    fresh(db, "GOOG", "101", minutes_ago=5)
    order = place(db, user, qty=Decimal(1000), order_type="limit", limit_price=Decimal(100), time_in_force="gtc")
    assert trading.portfolio(db, user, CASH)["buying_power"] == 0
    fresh(db, "GOOG", "100", minutes_ago=4)  # 1,000 x 100 = 100,000.00: every cent there is
    assert evaluate(db).orders_filled == 1
    assert trading.get_order(db, user, order.id).status == "filled"
    assert trading.portfolio(db, user, CASH)["cash"] == 0
    ledger_holds(db, user)


def test_a_buy_stop_that_gaps_past_the_cash_is_canceled_with_the_reason(db, user):
    fresh(db, "GOOG", "100", minutes_ago=5)
    stop = place(db, user, qty=Decimal(900), order_type="stop", stop_price=Decimal(105), time_in_force="gtc")
    place(db, user, qty=Decimal(50))  # 5,000 of cash spent: 95,000 left, 94,500 reserved by the stop
    fresh(db, "GOOG", "120", minutes_ago=4)  # 900 x 120 = 108,000
    summary = evaluate(db)
    assert (summary.orders_filled, summary.orders_canceled) == (0, 1)
    canceled = trading.get_order(db, user, stop.id)
    assert canceled.status == "canceled"
    assert canceled.reject_reason == "Insufficient buying power at fill: needs 108,000.00, has 95,000.00"
    ledger_holds(db, user)


def test_a_fill_is_delivered_to_the_orders_webhook(db, user):
    from tickerwatch.data import webhooks as webhook_store

    hook = db.run(lambda conn: webhook_store.insert_webhook(conn, user, "https://hooks.example.com/x", "whsec_x"))
    fresh(db, "GOOG", "100", minutes_ago=5)
    order = place(db, user, order_type="limit", limit_price=Decimal(99), webhook_id=hook.id, client_order_id="c1")
    fresh(db, "GOOG", "98.5", minutes_ago=4)
    poster = RecordingPoster()  # the signing poster itself is tested with the alerts' webhooks
    process_prices(db, RecordingSender(), max_price_age_minutes=120, max_attempts=3, webhook_poster=poster)
    process_prices(db, RecordingSender(), max_price_age_minutes=120, max_attempts=3, webhook_poster=poster)
    [(url, secret, message_id, payload)] = poster.posted
    assert (url, secret, message_id.startswith("msg_")) == ("https://hooks.example.com/x", "whsec_x", True)
    assert payload["type"] == "order.filled"
    assert payload["data"]["order"] == {
        "id": order.id,
        "client_order_id": "c1",
        "symbol": "GOOG",
        "side": "buy",
        "qty": "1.000000",
        "type": "limit",
        "limit_price": "99.0000",
        "stop_price": None,
    }
    fill = payload["data"]["fill"]  # a resting limit fills at its limit price, the price passed through it
    assert (Decimal(fill["price"]), fill["notional"], fill["realized_pl"]) == (Decimal("99"), "99.00", "0.00")
    log = db.run(lambda conn: conn.execute("SELECT status_code, attempt FROM webhook_deliveries").fetchall())
    assert [(r["status_code"], r["attempt"]) for r in log] == [(200, 1)]


def test_a_sale_tells_its_webhook_the_profit_not_the_proceeds(db, user):
    from tickerwatch.data import webhooks as webhook_store

    hook = db.run(lambda conn: webhook_store.insert_webhook(conn, user, "https://hooks.example.com/x", "whsec_x"))
    fresh(db, "GOOG", "100", minutes_ago=5)
    place(db, user, qty=Decimal(3))  # 300.00
    place(db, user, side="sell", qty=Decimal(2), order_type="limit", limit_price=Decimal(110), webhook_id=hook.id)
    fresh(db, "GOOG", "111", minutes_ago=4)
    poster = RecordingPoster()
    process_prices(db, RecordingSender(), max_price_age_minutes=120, max_attempts=3, webhook_poster=poster)
    [(_, _, _, payload)] = poster.posted
    fill = payload["data"]["fill"]
    # two of three shares: 200.00 of the basis; sold at the limit, 110, for 220.00
    assert (fill["notional"], fill["realized_pl"]) == ("220.00", "20.00")
    assert trading.portfolio(db, user, CASH)["realized_pl"] == Decimal("20.00")


# ---------------------------------------------------------------- settled as a broker settles (issue 29)


def test_rounding_never_makes_money(db, user):
    """25 buys of 0.000004 share at 1,000.01 (0.004 each, 0.00 when rounded half up) and the sale of the
    lot: a buy costs its notional rounded up to the cent, a sale pays it rounded down."""
    fresh(db, "GOOG", "1000.01")
    for _ in range(25):
        assert place(db, user, qty=Decimal("0.000004")).status == "filled"
    assert trading.portfolio(db, user, CASH)["cash"] == CASH - Decimal("0.25")
    fresh(db, "GOOG", "1055")
    place(db, user, side="sell", qty=Decimal("0.0001"))  # 0.1055: 0.11 half up, 0.10 paid
    book = trading.portfolio(db, user, CASH)
    assert book["cash"] == CASH - Decimal("0.25") + Decimal("0.10") and not book["positions"]
    assert book["realized_pl"] == Decimal("-0.15")
    ledger_holds(db, user)


def test_a_buy_that_costs_a_fraction_of_a_cent_more_than_the_cash_is_refused(db, user):
    fresh(db, "GOOG", "100")
    place(db, user, qty=Decimal("999.99"))  # 99,999.00: 1.00 left
    with pytest.raises(Unprocessable, match=r"needs 1\.01, has 1\.00"):
        place(db, user, qty=Decimal("0.010001"))  # 1.0001: rounded up, a cent more than there is
    assert place(db, user, qty=Decimal("0.01")).status == "filled"  # exactly 1.00
    assert trading.portfolio(db, user, CASH)["cash"] == 0


def test_a_resting_limit_fills_at_its_price_when_the_price_passed_through_it_between_runs(db, user):
    fresh(db, "GOOG", "100", minutes_ago=10)
    order = place(db, user, order_type="limit", limit_price=Decimal(99), time_in_force="gtc")
    assert evaluate(db).orders_filled == 0  # judged at 100
    dipped = fresh(db, "GOOG", "98", minutes_ago=6)
    fresh(db, "GOOG", "100", minutes_ago=3)  # and back before the next run
    assert evaluate(db).orders_filled == 1
    filled = trading.get_order(db, user, order.id)
    assert (filled.status, filled.filled_avg_price) == ("filled", Decimal(99))
    fill = db.run(lambda conn: conn.execute("SELECT price, quoted_at FROM paper_fills").fetchone())
    assert (fill["price"], fill["quoted_at"]) == (Decimal(99), dipped)


def test_a_resting_stop_fills_at_the_first_quote_through_it(db, user):
    fresh(db, "GOOG", "100", minutes_ago=10)
    place(db, user, qty=Decimal(2))
    stop = place(db, user, side="sell", qty=Decimal(2), order_type="stop", stop_price=Decimal(95), time_in_force="gtc")
    evaluate(db)
    fresh(db, "GOOG", "94", minutes_ago=6)  # through the stop: sold here, a market order from now on
    fresh(db, "GOOG", "90", minutes_ago=5)
    fresh(db, "GOOG", "101", minutes_ago=3)
    assert evaluate(db).orders_filled == 1
    assert trading.get_order(db, user, stop.id).filled_avg_price == Decimal(94)


def test_a_dip_before_an_order_was_placed_does_not_fill_it(db, user):
    fresh(db, "GOOG", "100", minutes_ago=10)
    evaluate(db)
    fresh(db, "GOOG", "97", minutes_ago=6)  # not yet judged when the order comes
    fresh(db, "GOOG", "100", minutes_ago=5)
    order = place(db, user, order_type="limit", limit_price=Decimal(99), time_in_force="gtc")
    assert evaluate(db).orders_filled == 0
    assert trading.get_order(db, user, order.id).status == "open"
    db.run(lambda conn: conn.execute("UPDATE stocks SET current_price = 98.5 WHERE symbol = 'GOOG'"))
    db.run(lambda conn: conn.execute("UPDATE quotes SET price = 98.5 WHERE symbol = 'GOOG' AND price = 100"))
    assert evaluate(db).orders_filled == 1  # the quote it was placed on, corrected, is new to it


def test_buy_stops_that_gap_past_the_cash_fill_in_the_order_they_were_placed(db, user):
    fresh(db, "GOOG", "100", minutes_ago=10)
    # six stops of 150 shares at 105 reserve 15,750 each (94,500 of the 100,000)
    stops = [
        place(db, user, qty=Decimal(150), order_type="stop", stop_price=Decimal(105), time_in_force="gtc")
        for _ in range(6)
    ]
    fresh(db, "GOOG", "120", minutes_ago=5)  # 18,000 each: five fit in the cash
    summary = evaluate(db)
    assert (summary.orders_filled, summary.orders_canceled) == (5, 1)
    statuses = [trading.get_order(db, user, s.id).status for s in stops]
    assert statuses == ["filled"] * 5 + ["canceled"]
    assert trading.portfolio(db, user, CASH)["cash"] == Decimal(10_000)
    ledger_holds(db, user)


def test_two_resets_at_one_instant_are_one_reset_not_a_500(lambda_api, clock):
    from conftest import Users
    from market import ny

    auth = Users(lambda_api).signed_in()
    clock.set(ny(2024, 5, 15, 11, 0))  # both requests see the same now()
    for _ in range(2):
        reply = lambda_api.request("POST", "/api/v1/portfolio/reset/", headers=auth)
        assert reply.status_code == 200, reply.content
    resets = clock.db.one(lambda conn: conn.execute("SELECT count(*) AS n FROM paper_resets").fetchone()["n"])
    assert resets == 1


def test_a_fill_is_never_stamped_before_its_order_or_a_reset(db, user):
    """A run whose clock was read before an order and a reset that committed while it waited (as two
    overlapping runs did) stamps the fill after both: the equity history agrees with the portfolio."""
    fresh(db, "GOOG", "100", minutes_ago=5)
    place(db, user, qty=Decimal(10))
    trading.reset(db, user, CASH)
    order = place(db, user, order_type="limit", limit_price=Decimal(99), time_in_force="gtc")
    fresh(db, "GOOG", "98", minutes_ago=4)
    evaluate(db, now=order.submitted_at - timedelta(seconds=30))
    filled = trading.get_order(db, user, order.id)
    assert filled.status == "filled" and filled.filled_at >= order.submitted_at
    book = trading.portfolio(db, user, CASH)
    assert book["equity"] == CASH - Decimal(99) + Decimal(98)
    assert trading.equity_history(db, user, CASH)[-1]["equity"] == book["equity"]


# ---------------------------------------------------------------- concurrency and crashes


def test_concurrent_market_buys_fill_only_as_many_as_the_cash_covers(db, user):
    fresh(db, "GOOG", "9000")  # 20 x 9,000 = 180,000 against 100,000: 11 fit
    outcomes, lock = [], threading.Lock()

    def buy():
        try:
            result = place(db, user, qty=Decimal(1)).status
        except Unprocessable:
            result = "refused"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=buy) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["filled"] * 11 + ["refused"] * 9
    book = trading.portfolio(db, user, CASH)
    assert book["cash"] == Decimal(1000) and book["positions"][0]["qty"] == 11
    ledger_holds(db, user)


def test_a_cancel_racing_a_fill_ends_as_exactly_one(db, user):
    fresh(db, "GOOG", "100", minutes_ago=5)
    orders = [place(db, user, order_type="limit", limit_price=Decimal(99), time_in_force="gtc") for _ in range(8)]
    fresh(db, "GOOG", "98", minutes_ago=4)
    results = {}

    def cancel(order_id):
        try:
            results[order_id] = trading.cancel_order(db, user, order_id, CASH).status
        except Unprocessable as exc:
            results[order_id] = str(exc)

    threads = [threading.Thread(target=cancel, args=(o.id,)) for o in orders[::2]]
    threads.append(threading.Thread(target=evaluate, args=(db,)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for order in orders:
        final = trading.get_order(db, user, order.id)
        if order.id in results and results[order.id] == "canceled":
            assert final.status == "canceled" and final.filled_at is None
        else:
            assert final.status == "filled" and final.canceled_at is None
    fills = db.run(lambda conn: conn.execute("SELECT count(*) AS n FROM paper_fills").fetchone()["n"])
    assert fills == sum(1 for o in orders if trading.get_order(db, user, o.id).status == "filled")
    ledger_holds(db, user)


def test_overlapping_matching_runs_fill_each_order_once(db, user):
    fresh(db, "GOOG", "100", minutes_ago=5)
    for _ in range(10):
        place(db, user, order_type="limit", limit_price=Decimal(99), time_in_force="gtc")
    fresh(db, "GOOG", "98", minutes_ago=4)
    summaries = []
    threads = [threading.Thread(target=lambda: summaries.append(evaluate(db))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(s.orders_filled for s in summaries) == 10
    counts = db.run(
        lambda conn: conn.execute("SELECT count(*) AS n FROM notifications WHERE fill_id IS NOT NULL").fetchone()
    )
    assert counts["n"] == 10
    ledger_holds(db, user)


CRASHING_MATCHER = r"""
import sys, time
from pathlib import Path
from tickerwatch.db import Database
from tickerwatch.data import clock, evaluation, trading

def work(conn):
    when = clock.database_now(conn)
    counts = evaluation.claim_triggers(conn, when, 120)
    trading.match_resting_orders(conn, *counts["changed"], when)
    Path(sys.argv[2]).write_text("matched")
    time.sleep(60)

Database(sys.argv[1]).run(work)
"""


def test_a_matcher_killed_mid_run_loses_nothing_and_fills_nothing_twice(db, user, database_url, tmp_path):
    fresh(db, "GOOG", "100", minutes_ago=5)
    orders = [place(db, user, order_type="limit", limit_price=Decimal(99), time_in_force="gtc") for _ in range(5)]
    fresh(db, "GOOG", "98", minutes_ago=4)
    marker = tmp_path / "matched"
    process = subprocess.Popen([sys.executable, "-c", CRASHING_MATCHER, database_url, str(marker)])
    deadline = time.monotonic() + 30
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert marker.exists()
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    # the killed run's fills were never committed, and the quote is still there to be matched
    assert {trading.get_order(db, user, o.id).status for o in orders} == {"open"}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # Postgres notices the dead backend and releases its locks
        summary = evaluate(db)
        if summary.orders_filled:
            break
    assert summary.orders_filled == 5
    assert evaluate(db).orders_filled == 0
    assert {trading.get_order(db, user, o.id).status for o in orders} == {"filled"}
    ledger_holds(db, user)


def test_an_order_racing_a_client_order_id_retry_is_placed_once(db, user):
    fresh(db, "GOOG", "100")
    results, errors = [], []

    def submit_once():
        try:
            results.append(place(db, user, qty=Decimal(1), client_order_id="same").id)
        except Conflict as exc:
            errors.append(exc)

    threads = [threading.Thread(target=submit_once) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(results)) == 1 and len(results) == 6
    assert trading.portfolio(db, user, CASH)["cash"] == CASH - 100


def test_the_equity_history_replays_fills_and_resets_over_the_daily_closes(db, user):
    from tickerwatch.market_time import NEW_YORK, close_time, previous_trading_day, trading_days_ending

    today = datetime.now(UTC).astimezone(NEW_YORK).date()
    d1, d2, d3, d4 = trading_days_ending(previous_trading_day(today), 4)
    fresh(db, "GOOG", "100")
    trading.portfolio(db, user, CASH)  # opens the account

    def backdate(conn):
        conn.execute("UPDATE paper_accounts SET created_at = %s", (close_time(d1) - timedelta(hours=3),))
        for day, close in ((d1, 90.0), (d2, 101.5), (d3, 99.25)):  # no bar on d4: d3's close holds
            conn.execute(
                "INSERT INTO price_bars VALUES ('GOOG', %s, %s, %s, %s, %s, %s, 1000)",
                (day, close, close, close, close, close),
            )

    db.run(backdate)
    place(db, user, qty=Decimal(2))  # at 100 -> 200.00 spent
    db.run(lambda conn: conn.execute("UPDATE paper_fills SET filled_at = %s", (close_time(d2) - timedelta(hours=1),)))

    points = {p["date"]: p["equity"] for p in trading.equity_history(db, user, CASH)}
    assert points[d1] == CASH
    assert points[d2] == CASH - 200 + Decimal("203.00")
    assert points[d3] == points[d4] == CASH - 200 + Decimal("198.50")
    assert points[today] == CASH  # two shares at the latest quote, 100
    assert list(points) == sorted(points)

    fresh(db, "GOOG", "110", minutes_ago=0.5)
    trading.reset(db, user, CASH)
    assert trading.equity_history(db, user, CASH)[-1]["equity"] == CASH


def test_first_requests_at_once_open_one_account(db, user):
    fresh(db, "GOOG", "100")
    answers, failures = [], []

    def read(call):
        try:
            answers.append(call(db, user, CASH))
        except Exception as exc:  # any failure is the finding
            failures.append(exc)

    threads = [threading.Thread(target=read, args=(f,)) for f in [trading.portfolio, trading.equity_history] * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == [] and len(answers) == 8
    assert db.run(lambda conn: conn.execute("SELECT count(*) AS n FROM paper_accounts").fetchone()["n"]) == 1
