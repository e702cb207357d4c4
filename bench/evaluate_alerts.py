"""evaluate_alerts at scale: 1,000,000 active alerts over 5,000 tickers with fresh prices.

Times one set-based evaluation run (claim phase: every alert judged, firing ones claimed with
their trigger and outbox rows in one transaction), then the outbox dispatch with a no-op
sender. Beside it, the usual ORM approach over 10,000 alerts: read each alert's price with its
own query, judge it in Python, write its trigger. Prints both rates and their ratio.

    .venv/bin/python bench/evaluate_alerts.py [--alerts N] [--explain]
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

from _common import bench_database, out

TICKERS = 5000
USERS = 1000
FIRE_EVERY = 100  # 1% of alerts fire
LOOP_ALERTS = 10_000


class NullSender:
    def send(self, email):
        return None


def seed(db, alerts: int) -> datetime:
    now = datetime.now(UTC)
    prices = {f"B{i:04d}": 20 + (i % 480) for i in range(TICKERS)}

    def work(conn):
        with conn.cursor() as cur:
            with cur.copy("COPY users (username, email, password_hash) FROM STDIN") as copy:
                for u in range(USERS):
                    copy.write_row((f"bench{u}", f"bench{u}@example.com", "x"))
            with cur.copy("COPY stocks (symbol, current_price, price_time, previous_close) FROM STDIN") as copy:
                for symbol, p in prices.items():
                    copy.write_row((symbol, p, now - timedelta(minutes=1), p))
            with cur.copy("COPY quotes (symbol, quoted_at, price) FROM STDIN") as copy:
                for symbol, p in prices.items():
                    for minutes, factor in ((91, 0.98), (61, 0.98), (31, 0.98), (1, 1.0)):
                        copy.write_row((symbol, now - timedelta(minutes=minutes), round(p * factor, 4)))
        first_user = conn.execute("SELECT min(id) AS id FROM users").fetchone()["id"]
        created = now - timedelta(hours=2)
        columns = (
            "user_id, symbol, alert_type, condition, threshold_price, duration_minutes, percent, window_minutes,"
            " created_at, events_after"
        )
        with conn.cursor() as cur, cur.copy(f"COPY alerts ({columns}) FROM STDIN") as copy:
            for k in range(alerts):
                user = first_user + (k // (alerts // USERS or 1)) % USERS
                symbol = f"B{(k * 7919) % TICKERS:04d}"
                p = prices[symbol]
                fires = k % FIRE_EVERY == 0
                kind = k % 10
                if kind < 3:
                    row = ("threshold", "above", round(p * (0.9 if fires else 1.5), 4), None, None, None)
                elif kind < 5:
                    row = ("threshold", "below", round(p * (1.1 if fires else 0.5), 4), None, None, None)
                elif kind < 7:
                    row = ("threshold", "crosses_above", round(p * (0.99 if fires else 1.5), 4), None, None, None)
                elif kind < 9:
                    row = ("duration", "above", round(p * (0.9 if fires else 1.5), 4), 60, None, None)
                else:
                    row = ("percent_change", "up", None, None, 1 if fires else 50, 60)
                copy.write_row((user, symbol, *row, created, created))
        conn.execute("ANALYZE")

    db.run(work)
    return now


def per_alert_loop(db, limit: int) -> tuple[float, int]:
    """The ORM way: one query per alert for its price, the decision in Python, one write per firing."""
    fired = 0

    def work(conn):
        nonlocal fired
        rows = conn.execute(
            "SELECT id, symbol, condition, threshold_price FROM alerts"
            " WHERE status = 'active' AND alert_type = 'threshold' AND condition IN ('above', 'below')"
            " ORDER BY id LIMIT %s",
            (limit,),
        ).fetchall()
        for alert in rows:
            stock = conn.execute(
                "SELECT current_price, price_time FROM stocks WHERE symbol = %s", (alert["symbol"],)
            ).fetchone()
            price = stock["current_price"]
            hit = (
                price >= alert["threshold_price"]
                if alert["condition"] == "above"
                else price <= alert["threshold_price"]
            )
            if hit:
                fired += 1
                conn.execute("UPDATE alerts SET status = 'triggered', armed = false WHERE id = %s", (alert["id"],))
        conn.rollback()  # leave the data as it was for the set-based run
        return len(rows)

    started = time.perf_counter()
    n = db.run(work)
    return time.perf_counter() - started, n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alerts", type=int, default=1_000_000)
    parser.add_argument("--explain", action="store_true", help="print the evaluation query plan")
    args = parser.parse_args()

    bench_database("tickerwatch_bench_alerts")
    from tickerwatch.alerts import evaluate_alerts
    from tickerwatch.data import alerts as store
    from tickerwatch.notifications import dispatch_notifications
    from tickerwatch.runtime import get_database

    db = get_database()
    started = time.perf_counter()
    now = seed(db, args.alerts)
    out(f"seeded {args.alerts:,} alerts over {TICKERS:,} tickers in {time.perf_counter() - started:.0f} s")

    loop_seconds, loop_n = per_alert_loop(db, LOOP_ALERTS)
    loop_rate = loop_n / loop_seconds
    out(
        f"per-alert loop (one price query per alert): {loop_n:,} alerts in {loop_seconds:.2f} s"
        f" = {loop_rate:,.0f} alerts/s"
    )

    if args.explain:
        plan = db.run(
            lambda conn: conn.execute(
                "EXPLAIN (ANALYZE, BUFFERS) "
                + store._EVALUATED
                + " SELECT count(*) FILTER (WHERE fires) FROM evaluated",
                {"now": now, "max_age": 120},
            ).fetchall()
        )
        for row in plan:
            out(row["QUERY PLAN"])

    started = time.perf_counter()
    counts = db.run(lambda conn: store.claim_triggers(conn, now, 120))
    claim_seconds = time.perf_counter() - started
    rate = counts["evaluated"] / claim_seconds
    out(
        f"set-based evaluation: {counts['evaluated']:,} alerts judged, {counts['triggered']:,} triggered"
        f" (with trigger and outbox rows) in {claim_seconds:.2f} s = {rate:,.0f} alerts/s"
    )
    started = time.perf_counter()
    sent, failed = dispatch_notifications(db, NullSender(), max_attempts=3, now=now)
    out(f"outbox dispatch (no-op sender): {sent:,} sent, {failed} failed in {time.perf_counter() - started:.2f} s")
    out(f"ratio set-based / per-alert loop: {rate / loop_rate:,.0f}x alerts per second")
    again = evaluate_alerts(db, NullSender(), max_price_age_minutes=120, max_attempts=3, now=now)
    out(f"second run over the same data: {again.triggered} triggered (each fires once)")


if __name__ == "__main__":
    main()
