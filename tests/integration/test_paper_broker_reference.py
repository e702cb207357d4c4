"""Paper trading against its reference (tests/reference/broker.py): a hypothesis state machine drives
the real API (the Lambda handlers, fed API Gateway events) and the reference broker through the same
steps, on a database clock the test moves: market, limit and stop orders, buys and sells, day and
gtc, whole and partial positions, three symbols, cancels, resets, idempotent retries spelled another
way, quotes that cross a trigger and come back, runs of the matching job, and a clock that passes
closes (to the second), nights and weekends. After every step the two must agree on everything the
user sees: each order's status, fill price and time, expiry and reason; the cash, buying power,
realized P&L, equity and positions. A refusal must be the reference's refusal, with its words."""

from __future__ import annotations

import os
import random
from datetime import datetime, timedelta
from decimal import Decimal

from fakes import RecordingSender
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from market import ny
from reference.broker import Broker, Order, Refused
from reference.calendar import first_close_after, next_open_after
from test_paper_trading import ORDERS, PORTFOLIO

from tickerwatch.data import prices
from tickerwatch.market_data import Quote, StockInfo
from tickerwatch.processing import process_prices
from tickerwatch.settings import get_settings

SYMBOLS = ("PA", "PB", "PC")
STARTS = [
    ny(2024, 5, 15, 10),  # a Wednesday morning
    ny(2024, 5, 17, 15, 58),  # Friday, two minutes before the close
    ny(2024, 5, 17, 16),  # Friday, at the close
    ny(2024, 5, 17, 18, 40),  # Friday evening
    ny(2024, 5, 18, 12),  # Saturday
    ny(2024, 5, 20, 9, 29),  # Monday, a minute before the open
]
# a quote moves by one of these; a limit or stop is placed this far from the quote (0: exactly at it)
MOVES = [Decimal(m) for m in ("-5", "-2.5", "-0.01", "0.01", "2.5", "5", "150")]
SEEDS = st.integers(0, 2**64 - 1)
OFFSETS = [Decimal(o) for o in ("-5", "-2.5", "-0.01", "0", "0.01", "2.5", "5")]
# 1000 x 100 is exactly the starting cash: the boundary comes up without being aimed at
QUANTITIES = [Decimal(q) for q in ("0.000001", "0.5", "1", "3.25", "10", "400", "1000")]
MAX_AGE = 120
SPELLINGS = ("as sent", "lower-case symbol", "numbers as JSON numbers", "trailing zeros")


def body_of(order: Order, spelling: str = "as sent") -> dict:
    body = {"symbol": order.symbol, "side": order.side, "qty": str(order.qty), "type": order.type}
    if order.price is not None:
        body["limit_price" if order.type == "limit" else "stop_price"] = str(order.price)
    body["time_in_force"] = order.time_in_force
    if order.client_order_id is not None:
        body["client_order_id"] = order.client_order_id
    if spelling == "lower-case symbol":
        body["symbol"] = order.symbol.lower()
    elif spelling == "numbers as JSON numbers":
        for name in ("qty", "limit_price", "stop_price"):
            if name in body:
                body[name] = float(body[name]) if "." in body[name] else int(body[name])
    elif spelling == "trailing zeros":
        for name in ("qty", "limit_price", "stop_price"):
            if name in body:
                body[name] = f"{Decimal(body[name]):.6f}" if name == "qty" else f"{Decimal(body[name]):.4f}"
    return body


def when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class BrokerAgainstReference(RuleBasedStateMachine):
    api = clock = empty_tables = None  # set by the test

    @initialize(seed=SEEDS)
    def open_account(self, seed):
        start = random.Random(seed).choice(STARTS)  # a sampled_from would mostly start on Wednesday
        self.empty_tables()
        username = "trader"
        register = {"username": username, "email": f"{username}@example.com", "password": "correct-horse-9"}
        assert self.api.request("POST", "/api/v1/register/", json_body=register).status_code == 201
        tokens = self.api.request(
            "POST", "/api/v1/token/", json_body={"username": username, "password": "correct-horse-9"}
        )
        self.auth = {"Authorization": f"Bearer {tokens.json()['access']}"}
        self.now = self.clock.set(start)
        # The details of each step (which symbol, how many shares, what price) come from a generator
        # each step seeds: hypothesis chooses the steps and their seeds; a sampled_from per detail
        # would lean to its first entries (one price, one size), leaving most of the rules unvisited.
        self.rng = random.Random(0)
        self.reference = Broker(get_settings().paper_starting_cash, MAX_AGE)
        self.ids: list[int] = []
        for symbol in SYMBOLS:
            self._quote(symbol, Decimal(100))

    # ------------------------------------------------------------ time and prices

    def _move_to(self, moment: datetime) -> None:
        if moment > self.now:
            self.now = self.clock.set(moment)

    def _quote(self, symbol: str, price: Decimal) -> None:
        def write(conn):
            prices.upsert_stocks(conn, [StockInfo(symbol, symbol, None)])
            prices.record_quotes(conn, [Quote(symbol, price, self.now)])

        self.clock.db.run(write)
        self.reference.quote(symbol, price, self.now)

    def _market_moves_on(self) -> None:
        """Mostly the market has quoted since (no quote: they go stale, and market orders are refused)."""
        if self.rng.random() < 0.7:
            for symbol in SYMBOLS:
                self._quote(symbol, max(Decimal(1), self.reference.quotes[symbol][0] + self.rng.choice(MOVES)))

    @rule(seed=SEEDS)
    def time_passes(self, seed):
        self.rng.seed(seed)
        minutes = self.rng.choice([1, 1, 7, 7, 59, 121, 390, 24 * 60, 3 * 24 * 60])
        self._move_to(self.now + timedelta(minutes=minutes))
        self._market_moves_on()

    @rule(seed=SEEDS)
    def to_the_close(self, seed):
        self.rng.seed(seed)
        self._move_to(first_close_after(self.now) + timedelta(seconds=self.rng.choice([-1, 0, 1])))

    @rule(seed=SEEDS)
    def to_the_open(self, seed):
        self.rng.seed(seed)
        self._move_to(next_open_after(self.now))
        self._market_moves_on()

    @rule(seed=SEEDS)
    def a_quote(self, seed):
        self.rng.seed(seed)
        symbol = self.rng.choice(SYMBOLS)
        last = self.reference.quotes[symbol][0]
        self._quote(symbol, max(Decimal(1), last + self.rng.choice(MOVES)))

    @precondition(lambda self: any(o.status == "open" and o.price for o in self.reference.orders.values()))
    @rule(seed=SEEDS)
    def a_quote_at_a_trigger(self, seed):
        self.rng.seed(seed)
        order = self.rng.choice([o for o in self.reference.orders.values() if o.status == "open" and o.price])
        self._quote(order.symbol, order.price)

    @rule()
    def the_matching_run(self):
        process_prices(self.clock.db, RecordingSender(), max_price_age_minutes=MAX_AGE, max_attempts=3)
        self.reference.run(self.now)

    @rule(seed=SEEDS)
    def the_close_and_a_run(self, seed):
        """The session ends (a second either side of the close, or at it) with the job running then."""
        self.rng.seed(seed)
        self._move_to(first_close_after(self.now) + timedelta(seconds=self.rng.choice([-1, 0, 1])))
        if self.rng.random() < 0.5:  # the last quote of the day stamped at the moment
            symbol = self.rng.choice(SYMBOLS)
            self._quote(symbol, max(Decimal(1), self.reference.quotes[symbol][0] + self.rng.choice(MOVES)))
        self.the_matching_run()

    # ------------------------------------------------------------ orders

    def _submit(self, order: Order, spelling: str = "as sent") -> None:
        reply = self.api.request("POST", ORDERS, json_body=body_of(order, spelling), headers=self.auth)
        if reply.status_code == 201:
            order.id = reply.json()["id"]  # the database numbers orders across examples
        try:
            expected, created = self.reference.place(self.now, order)
        except Refused as refused:
            assert reply.status_code == refused.status, (refused.message, reply.content)
            detail = reply.json()["detail"]
            assert detail == refused.message if refused.status == 422 else detail.startswith(refused.message)
            return
        assert reply.status_code == (201 if created else 200), (order, reply.content)
        if created:
            self.ids.append(expected.id)
        assert reply.json()["id"] == expected.id

    def _new_order(self, **fields) -> Order:
        return Order(
            id=0,  # the database's, once it is placed
            submitted_at=self.now,
            expires_at=None,
            **fields,
        )

    def _order_now(self, kind: str) -> None:
        side = self.rng.choice(["buy", "sell"])
        held = sorted(self.reference.positions)
        symbol = self.rng.choice(held if side == "sell" and held and self.rng.random() < 0.8 else SYMBOLS)
        qty = self.rng.choice(QUANTITIES)
        free = self.reference.positions.get(symbol, (Decimal(0), None))[0] - self.reference.held_shares(symbol)
        if side == "sell" and free > 0 and self.rng.random() < 0.7:  # all of what is free, or about half
            qty = self.rng.choice([free, max(Decimal("0.000001"), (free / 2).quantize(Decimal("0.000001")))])
        price = None
        if kind != "market":  # about the quote, exactly at it too: marketable on arrival, or resting
            price = max(Decimal("0.01"), self.reference.quotes[symbol][0] + self.rng.choice(OFFSETS))
        named = self.rng.random() < 0.3
        self._submit(
            self._new_order(
                symbol=symbol,
                side=side,
                qty=qty,
                type=kind,
                price=price,
                time_in_force=self.rng.choice(["day", "gtc"]),
                client_order_id=f"c{self.rng.getrandbits(40):x}" if named else None,
            )
        )

    @rule(seed=SEEDS)
    def a_market_order(self, seed):
        self.rng.seed(seed)
        self._order_now("market")

    @rule(seed=SEEDS)
    def a_limit_order(self, seed):
        self.rng.seed(seed)
        self._order_now("limit")

    @rule(seed=SEEDS)
    def a_stop_order(self, seed):
        self.rng.seed(seed)
        self._order_now("stop")

    @rule(seed=SEEDS)
    def sell_everything(self, seed):
        self.rng.seed(seed)
        symbol, kind = self.rng.choice(SYMBOLS), self.rng.choice(["market", "limit"])
        held = self.reference.positions.get(symbol, (Decimal(0), None))[0] - self.reference.held_shares(symbol)
        if held <= 0:
            return
        price = self.reference.quotes[symbol][0]
        self._submit(
            self._new_order(
                symbol=symbol,
                side="sell",
                qty=held,
                type=kind,
                price=None if kind == "market" else price,
                time_in_force="day",
                client_order_id=None,
            )
        )

    @rule(seed=SEEDS)
    def buy_with_exactly_the_buying_power(self, seed):
        self.rng.seed(seed)
        """Quote the price at which ``divisor`` shares cost exactly the buying power, and buy them."""
        symbol, divisor = self.rng.choice(SYMBOLS), self.rng.choice([1, 2, 8, 10])
        power = self.reference.buying_power()
        price = (power / divisor).quantize(Decimal("0.0001"))
        if power <= 0 or price * divisor != power or price > 1_000_000:
            return
        self._quote(symbol, price)
        self._submit(
            self._new_order(
                symbol=symbol,
                side="buy",
                qty=Decimal(divisor),
                type="market",
                price=None,
                time_in_force="day",
                client_order_id=None,
            )
        )

    @precondition(lambda self: any(o.client_order_id for o in self.reference.orders.values()))
    @rule(seed=SEEDS)
    def a_retry(self, seed):
        self.rng.seed(seed)
        spelling, same = self.rng.choice(SPELLINGS), self.rng.random() < 0.7
        earlier = self.rng.choice([o for o in self.reference.orders.values() if o.client_order_id])
        retry = Order(**{**earlier.__dict__, "qty": earlier.qty if same else earlier.qty + 1})
        self._submit(retry, spelling)

    @precondition(lambda self: self.ids)
    @rule(seed=SEEDS)
    def a_cancel(self, seed):
        self.rng.seed(seed)
        resting = [i for i in self.ids if self.reference.orders[i].status == "open"]
        order_id = self.rng.choice(resting if resting and self.rng.random() < 0.8 else [*self.ids, 10**9])
        reply = self.api.request("DELETE", f"{ORDERS}{order_id}/", headers=self.auth)
        try:
            self.reference.cancel(order_id)
        except Refused as refused:
            assert (reply.status_code, reply.json()["detail"]) == (refused.status, refused.message)
            return
        assert reply.status_code == 200 and reply.json()["status"] == "canceled"

    @rule()
    def a_reset(self):
        self._move_to(self.now + timedelta(seconds=1))  # the account's resets are told apart by their time
        assert self.api.request("POST", f"{PORTFOLIO}reset/", headers=self.auth).status_code == 200
        self.reference.reset()

    # ------------------------------------------------------------ what the user sees, after every step

    @invariant()
    def the_account_agrees(self):
        book = self.api.request("GET", PORTFOLIO, headers=self.auth).json()
        ref = self.reference
        assert {k: Decimal(book[k]) for k in ("cash", "buying_power", "realized_pl", "equity")} == {
            "cash": ref.cash,
            "buying_power": ref.buying_power(),
            "realized_pl": ref.realized,
            "equity": ref.equity(),
        }
        assert [(p["symbol"], Decimal(p["qty"]), Decimal(p["cost_basis"])) for p in book["positions"]] == [
            (symbol, qty, basis) for symbol, (qty, basis) in sorted(ref.positions.items())
        ]

    @invariant()
    def every_order_agrees(self):
        listed = self.api.request("GET", ORDERS, headers=self.auth, params={"status": "all", "limit": 100}).json()
        seen = {
            o["id"]: (
                o["status"],
                Decimal(o["filled_avg_price"]) if o["filled_avg_price"] else None,
                when(o["filled_at"]),
                when(o["submitted_at"]),
                when(o["expires_at"]),
                o["reject_reason"],
            )
            for o in listed["results"]
        }
        assert seen == {
            o.id: (o.status, o.fill_price, o.filled_at, o.submitted_at, o.expires_at, o.reason)
            for o in self.reference.orders.values()
        }


def test_the_broker_does_what_its_reference_does(lambda_api, clock, settings_env, empty_tables):
    settings_env(
        RATE_LIMIT_ORDERS_PER_USER="0",
        RATE_LIMIT_REGISTER_PER_ADDRESS="0",
        RATE_LIMIT_LOGIN_PER_ADDRESS="0",
        RATE_LIMIT_LOGIN_PER_USERNAME="0",
        TICKERWATCH_MAX_PRICE_AGE_MINUTES=str(MAX_AGE),
    )
    BrokerAgainstReference.api, BrokerAgainstReference.clock = lambda_api, clock
    BrokerAgainstReference.empty_tables = staticmethod(empty_tables)
    # Under `make mutants` a failure is all that counts: no shrinking. Examples are drawn afresh in every run
    # (each mutant also has a deterministic killer, listed first, so no kill is left to a draw).
    mutation_run = bool(os.environ.get("TICKERWATCH_MUTATION_RUN"))
    phases = [Phase.explicit, Phase.generate] if mutation_run else list(Phase)
    run_state_machine_as_test(
        BrokerAgainstReference,
        settings=settings(
            max_examples=int(os.environ.get("REFERENCE_EXAMPLES", 25)),
            stateful_step_count=30,
            deadline=None,
            phases=phases,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
