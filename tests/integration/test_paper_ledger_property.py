"""The paper-trading ledger under random sequences of orders, price moves, fills, cancels and
resets (hypothesis), against the real database: after every step, cash + cost bases = starting
cash + realized P&L, the cash covers what open buys reserve, the shares cover what open sells
reserve, and a refused action changed nothing."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from fakes import RecordingSender
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from market import quote
from test_paper_trading import CASH, evaluate, ledger_holds, place

from tickerwatch import trading
from tickerwatch.data.users import insert_user
from tickerwatch.errors import Conflict, Unprocessable

SYMBOLS = ("PA", "PB")
CLOCK_START = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=60)
ticks = itertools.count(1)
users = itertools.count(1)

prices = st.decimals(min_value=Decimal("1.00"), max_value=Decimal("400.00"), places=2)
quantities = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("300"), places=6)
actions = st.one_of(
    st.tuples(st.just("quote"), st.sampled_from(SYMBOLS), prices),
    st.tuples(st.just("market"), st.sampled_from(("buy", "sell")), st.sampled_from(SYMBOLS), quantities),
    st.tuples(
        st.sampled_from(("limit", "stop")),
        st.sampled_from(("buy", "sell")),
        st.sampled_from(SYMBOLS),
        quantities,
        prices,
    ),
    st.tuples(st.just("cancel"), st.integers(min_value=0, max_value=20)),
    st.tuples(st.just("reset")),
)


def snapshot(db, user_id):
    def read(conn):
        return (
            conn.execute("SELECT cash, realized_pl FROM paper_accounts WHERE user_id = %s", (user_id,)).fetchall(),
            conn.execute("SELECT * FROM paper_positions WHERE user_id = %s ORDER BY symbol", (user_id,)).fetchall(),
            conn.execute("SELECT id, status FROM paper_orders WHERE user_id = %s ORDER BY id", (user_id,)).fetchall(),
        )

    return db.run(read)


@settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(actions, min_size=1, max_size=14))
def test_the_ledger_reconciles_after_every_step(db, steps):
    n = next(users)
    user_id = db.run(lambda conn: insert_user(conn, f"prop{n}", f"prop{n}", f"prop{n}@example.com", "x")).id
    for symbol in SYMBOLS:
        quote(db, symbol, 100.0, CLOCK_START + timedelta(seconds=next(ticks)))
    placed: list[int] = []
    for step in steps:
        kind = step[0]
        before = snapshot(db, user_id)
        try:
            if kind == "quote":
                quote(db, step[1], float(step[2]), CLOCK_START + timedelta(seconds=next(ticks)))
                evaluate(db, sender=RecordingSender())
            elif kind == "market":
                placed.append(place(db, user_id, side=step[1], symbol=step[2], qty=step[3]).id)
            elif kind in ("limit", "stop"):
                price_field = "limit_price" if kind == "limit" else "stop_price"
                order = place(
                    db,
                    user_id,
                    side=step[1],
                    symbol=step[2],
                    qty=step[3],
                    order_type=kind,
                    time_in_force="gtc",
                    **{price_field: step[4]},
                )
                placed.append(order.id)
            elif kind == "cancel" and placed:
                trading.cancel_order(db, user_id, placed[step[1] % len(placed)], CASH)
            elif kind == "reset":
                trading.reset(db, user_id, CASH)
        except (Unprocessable, Conflict):
            after = snapshot(db, user_id)
            assert after == before, f"a refused {kind} changed the account"
        ledger_holds(db, user_id)
