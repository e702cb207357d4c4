"""Paper trading at scale: resting orders matched by the evaluator's run, and the order endpoint.

Prints, in one run:
- 100,000 resting orders over 5,000 tickers (limit and stop, buy and sell, 1,000 accounts) beside
  100,000 threshold alerts on the same tickers: the evaluator's transaction after every price moved
  5% (1% of the orders reached and filled, 1% of the alerts fired), split into judging the alerts
  and matching the orders, and the same when no price moved. Each round runs in a transaction that
  is rolled back, so every round sees the same state;
- evidence that orders the prices did not reach are not read: rows fetched from paper_orders by
  the matching statement, against the number of open orders;
- `POST /api/v1/orders/` on the local server (uvicorn, keep-alive HTTP/1.1 clients on this machine)
  at rising concurrency, half market orders that fill at once and half limit orders that rest:
  orders a second, p50 and p99.

    .venv/bin/python bench/paper_trading.py [--orders N] [--rounds N] [--seconds S] [--levels 1,8,32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, Decimal

from _common import bench_database, copy_market, out, record, summary

TICKERS = 5000
USERS = 1000
REACH_EVERY = 100  # 1% of the orders and alerts are reached by the move


def symbol_of(i: int) -> str:
    return f"P{i:04d}"


def seed(db, orders: int, alerts: int) -> tuple[datetime, dict[int, float]]:
    """Accounts, positions to sell from, resting orders and armed alerts, judged on the prices at t0."""
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
    base = {i: 20.0 + (i % 480) for i in range(TICKERS)}

    def work(conn):
        copy_market(conn, [f"trader{u}" for u in range(USERS)], {symbol_of(i): p for i, p in base.items()}, t0)
        first = conn.execute("SELECT min(id) AS id FROM users").fetchone()["id"]
        conn.execute(
            "INSERT INTO paper_accounts (user_id, starting_cash, cash)"
            " SELECT id, 10000000, 10000000 FROM users WHERE username LIKE 'trader%%'"
        )
        order_rows, positions = [], {}
        for k in range(orders):
            user = first + k % USERS
            i = (k * 7919) % TICKERS
            p = base[i]
            rises = i % 2 == 0  # even tickers rise 5%, odd ones fall 5%
            reached = k % REACH_EVERY == 0
            # which (side, type) a rise or a fall reaches: rise -> sell limit, buy stop; fall -> buy limit, sell stop
            side, kind = [("sell", "limit"), ("buy", "stop"), ("buy", "limit"), ("sell", "stop")][k % 4]
            reached_by_rise = (side, kind) in (("sell", "limit"), ("buy", "stop"))
            if reached and reached_by_rise != rises:
                side, kind = {
                    ("sell", "limit"): ("buy", "limit"),
                    ("buy", "stop"): ("sell", "stop"),
                    ("buy", "limit"): ("sell", "limit"),
                    ("sell", "stop"): ("buy", "stop"),
                }[(side, kind)]
            above = (side, kind) in (("sell", "limit"), ("buy", "stop"))
            distance = 0.03 if reached else 0.20
            trigger = Decimal(str(round(p * (1 + distance if above else 1 - distance), 2)))
            reserved = trigger.quantize(Decimal("0.01"), rounding=ROUND_CEILING) if side == "buy" else 0
            if side == "sell":
                positions[(user, symbol_of(i))] = positions.get((user, symbol_of(i)), 0) + 1
            order_rows.append(
                (
                    user,
                    symbol_of(i),
                    side,
                    1,
                    kind,
                    trigger if kind == "limit" else None,
                    trigger if kind == "stop" else None,
                    "gtc",
                    "open",
                    reserved,
                    t0,
                )
            )
        with conn.cursor() as cur:
            with cur.copy("COPY paper_positions (user_id, symbol, qty, cost_basis) FROM STDIN") as copy:
                for (user, symbol), qty in positions.items():
                    copy.write_row((user, symbol, qty, qty * 10))
            columns = (
                "user_id, symbol, side, qty, order_type, limit_price, stop_price, time_in_force, status,"
                " reserved_cash, submitted_at"
            )
            with cur.copy(f"COPY paper_orders ({columns}) FROM STDIN") as copy:
                for row in order_rows:
                    copy.write_row(row)
        # the starting cash as if the positions had been bought: the ledger reconciles
        conn.execute(
            "UPDATE paper_accounts a SET starting_cash = cash + (SELECT coalesce(sum(cost_basis), 0)"
            " FROM paper_positions p WHERE p.user_id = a.user_id)"
        )
        columns = (
            "user_id, symbol, alert_type, condition, threshold_price, created_at, events_after, needs_judging,"
            " judged_at"
        )
        with conn.cursor() as cur, cur.copy(f"COPY alerts ({columns}) FROM STDIN") as copy:
            for k in range(alerts):
                i = (k * 104729) % TICKERS
                p, rises = base[i], i % 2 == 0
                fires = k % REACH_EVERY == 0
                condition = "above" if rises == fires else "below"
                level = p * (1.03 if rises else 0.97) if fires else p * (1.2 if condition == "above" else 0.8)
                level += (k // TICKERS) * 0.01  # one user's alerts on one symbol differ (no duplicates)
                copy.write_row(
                    (
                        first + k % USERS,
                        symbol_of(i),
                        "threshold",
                        condition,
                        round(level, 2),
                        t0 - timedelta(hours=1),
                        t0 - timedelta(hours=1),
                        False,
                        t0,
                    )
                )
        conn.execute("ANALYZE")

    db.run(work)
    return t0, base


def move_prices(db, t0: datetime, base: dict[int, float]) -> datetime:
    from tickerwatch.data import prices
    from tickerwatch.market_data import Quote

    t1 = t0 + timedelta(minutes=1)
    quotes = [Quote(symbol_of(i), round(p * (1.05 if i % 2 == 0 else 0.95), 2), t1) for i, p in base.items()]
    db.run(lambda conn: prices.record_quotes(conn, quotes))
    return t1


# Index entries the matching ranges read (the fills' own reads of each order go through the primary key).
RANGE_READS = "SELECT pg_stat_get_xact_tuples_returned('paper_orders_resting_idx'::regclass) AS n"


def timed_round(url: str, now: datetime) -> dict[str, float]:
    """The evaluator's transaction (as process_prices runs it), rolled back at the end."""
    from tickerwatch.data import alerts as alert_store
    from tickerwatch.data import trading as trading_store
    from tickerwatch.db import connect

    with connect(url) as conn, conn.transaction(force_rollback=True):
        started = time.perf_counter()
        counts = alert_store.claim_triggers(conn, now, 120)
        judged = time.perf_counter()
        before = conn.execute(RANGE_READS).fetchone()["n"]
        matched = trading_store.match_resting_orders(conn, *counts.pop("changed"), now)
        expired = len(trading_store.expire_day_orders(conn, now))
        done = time.perf_counter()
        after = conn.execute(RANGE_READS).fetchone()["n"]
    return {
        "alerts_s": judged - started,
        "orders_s": done - judged,
        "total_s": done - started,
        "triggered": counts["triggered"],
        "filled": matched["filled"],
        "canceled": matched["canceled"],
        "expired": expired,
        "order_rows_read": after - before,
    }


def bench_matching(db, url: str, orders: int, alerts: int, rounds: int) -> dict[str, float]:
    t0, base = seed(db, orders, alerts)
    quiet = [timed_round(url, t0 + timedelta(minutes=1)) for _ in range(rounds)]
    now = move_prices(db, t0, base) + timedelta(seconds=30)
    moved = [timed_round(url, now) for _ in range(rounds)]
    last = moved[-1]
    out(f"\n{orders:,} resting orders and {alerts:,} alerts over {TICKERS:,} tickers ({USERS:,} accounts)")
    out(f"every price moved 5%: {last['filled']:,} orders filled, {last['triggered']:,} alerts fired per round")
    out(summary("  judging the alerts", [r["alerts_s"] for r in moved]))
    out(summary("  matching the orders", [r["orders_s"] for r in moved]))
    out(summary("  the whole transaction", [r["total_s"] for r in moved]))
    out("no price moved:")
    out(summary("  judging the alerts", [r["alerts_s"] for r in quiet]))
    out(summary("  matching the orders", [r["orders_s"] for r in quiet]))
    out(summary("  the whole transaction", [r["total_s"] for r in quiet]))
    orders_ms = statistics.median(r["orders_s"] for r in moved) * 1000
    alerts_ms = statistics.median(r["alerts_s"] for r in moved) * 1000
    out(
        f"matching / judging (medians, moved): {orders_ms / alerts_ms:.2f}x; "
        f"per fill {orders_ms / max(last['filled'], 1):.3f} ms"
    )
    open_orders = db.one(
        lambda conn: conn.execute("SELECT count(*) AS n FROM paper_orders WHERE status = 'open'").fetchone()["n"]
    )
    out(
        f"resting-order index entries read by matching: {last['order_rows_read']:,} of {open_orders:,} open "
        f"orders ({last['filled'] + last['canceled']:,} reached); quiet run: {quiet[-1]['order_rows_read']:,}"
    )
    return {
        "matching_moved_ms": orders_ms,
        "alerts_moved_ms": alerts_ms,
        "matching_quiet_ms": statistics.median(r["orders_s"] for r in quiet) * 1000,
        "transaction_quiet_ms": statistics.median(r["total_s"] for r in quiet) * 1000,
    }


# ---------------------------------------------------------------- the order endpoint


async def submitting(port: int, accounts: list[dict], concurrency: int, seconds: float) -> tuple[list[float], dict]:
    from load import Client

    timings: list[float] = []
    statuses: dict[int, int] = {}
    stop = time.monotonic() + seconds

    async def worker(index: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = Client(reader, writer)
        account = accounts[index % len(accounts)]
        headers = {"Authorization": f"Bearer {account['access']}"}
        n = 0
        while time.monotonic() < stop:
            n += 1
            body = {"symbol": "GOOG", "side": "buy", "qty": "0.01", "type": "market"}
            if n % 2:
                body |= {"type": "limit", "limit_price": "1.00", "time_in_force": "gtc"}
            started = time.perf_counter()
            status, _ = await client.request("POST", "/api/v1/orders/", headers, json.dumps(body).encode())
            timings.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
        writer.close()

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return timings, statuses


def bench_endpoint(db, seconds: float, levels: list[int]) -> dict[str, float]:
    import httpx
    from load import RAISED_LIMITS, percentile, start_server

    from tickerwatch.data import prices
    from tickerwatch.market_data import Quote, StockInfo

    port = 8791
    server = start_server(port, 2, {**RAISED_LIMITS, "RATE_LIMIT_ORDERS_PER_USER": "0"})
    figures: dict[str, float] = {}
    try:
        base = f"http://127.0.0.1:{port}"
        http = httpx.Client(base_url=base, timeout=60)
        accounts = []
        for i in range(64):
            creds = {"username": f"ordering{i}", "password": "order-pass-123"}
            http.post("/api/v1/register/", json=creds | {"email": f"ordering{i}@example.com"})
            accounts.append(http.post("/api/v1/token/", json=creds).json())

        def fresh_quote(conn):
            prices.upsert_stocks(conn, [StockInfo("GOOG", "Alphabet", None)])
            prices.record_quotes(conn, [Quote("GOOG", 100.0, datetime.now(UTC) - timedelta(seconds=30))])

        db.run(fresh_quote)
        out(f"\nPOST /api/v1/orders/ on the local server (2 workers), {seconds:g} s per level, half market half limit")
        for concurrency in levels:
            asyncio.run(submitting(port, accounts, concurrency, 1.0))  # warm the connections
            timings, statuses = asyncio.run(submitting(port, accounts, concurrency, seconds))
            rate = len(timings) / seconds
            p50, p99 = percentile(timings, 0.50), percentile(timings, 0.99)
            out(
                f"  concurrency {concurrency:>3}: {rate:7.1f} orders/s   p50 {p50:7.1f} ms   p99 {p99:7.1f} ms"
                f"   statuses {dict(sorted(statuses.items()))}"
            )
            figures[f"orders_c{concurrency}_p50_ms"] = p50
            figures[f"orders_c{concurrency}_p99_ms"] = p99
            figures[f"orders_c{concurrency}_per_s"] = rate
    finally:
        server.terminate()
        server.wait(10)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--levels", default="1,8,32")
    args = parser.parse_args()

    from tickerwatch.runtime import get_database

    url = bench_database("tickerwatch_bench_trading")
    db = get_database()
    figures = bench_matching(db, url, args.orders, args.alerts, args.rounds)
    figures |= bench_endpoint(db, args.seconds, [int(x) for x in args.levels.split(",")])
    if args.orders == 100_000 and args.alerts == 100_000:
        record("paper_trading", **figures)


if __name__ == "__main__":
    main()
