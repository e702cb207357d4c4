"""Polling a watchlist, and delivering webhooks.

Prints, in one run:
- `GET /api/v1/watchlists/` through the stocks function's Lambda handler (API Gateway payload 2.0
  events) for a user with 5 lists of 20 symbols: a full answer (200) beside a revalidation with the
  ETag the client holds (304), latency and bytes side by side;
- the outbox delivering 500 signed webhooks to a local receiver that answers at once, and to one that
  takes 50 ms, each from one dispatcher run: deliveries a second.

    .venv/bin/python bench/watchlists_webhooks.py [--rounds N] [--webhooks N]
"""

from __future__ import annotations

import argparse
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

from _common import bench_database, out, summary

if TYPE_CHECKING:
    from tickerwatch.data.webhooks import WebhookRow

PASSWORD = "correct-horse-9"


def seed_watchlists(db, user_id: int) -> None:
    from tickerwatch.data import prices, watchlists
    from tickerwatch.market_data import Quote, StockInfo

    symbols = [f"W{i:03d}" for i in range(100)]
    now = datetime.now(UTC)

    def work(conn):
        prices.upsert_stocks(conn, [StockInfo(s, f"{s} Inc.", None) for s in symbols])
        conn.execute("UPDATE stocks SET backfilled_at = now() WHERE symbol = ANY(%s)", (symbols,))
        prices.record_quotes(conn, [Quote(s, 100 + i, now - timedelta(minutes=1)) for i, s in enumerate(symbols)])
        for n in range(5):
            watchlists.insert_watchlist(conn, user_id, f"List {n}", symbols[n * 20 : (n + 1) * 20])

    db.run(work)


def bench_polling(db, user_id: int, rounds: int) -> None:
    from tickerwatch.accounts import obtain_tokens
    from tickerwatch.events import LocalContext, http_api_event
    from tickerwatch.local import load_function
    from tickerwatch.web import password_hasher, token_policy

    stocks = load_function("stocks")
    tokens = obtain_tokens(db, token_policy(), password_hasher(), "bench", PASSWORD)
    auth = {"authorization": f"Bearer {tokens.access}"}

    def get(headers):
        event = http_api_event("GET", "/api/v1/watchlists/", route_key="GET /api/v1/watchlists/", headers=headers)
        started = time.perf_counter()
        reply = stocks.handler(event, LocalContext("stocks"))
        return time.perf_counter() - started, reply

    _, first = get(auth)
    etag = first["headers"]["etag"]
    full, revalidated = [], []
    for _ in range(rounds):
        seconds, reply = get(auth)
        assert reply["statusCode"] == 200
        full.append(seconds)
        seconds, reply = get(auth | {"if-none-match": etag})
        assert reply["statusCode"] == 304 and not reply.get("body")
        revalidated.append(seconds)
    size = len(first["body"].encode())
    out(f"watchlists: 5 lists x 20 symbols, {rounds} rounds (Lambda handler, in process)")
    out(summary("  200, full body", full) + f"   {size:,} bytes")
    out(summary("  304, If-None-Match", revalidated) + "   0 bytes")
    ratio = sorted(full)[len(full) // 2] / sorted(revalidated)[len(revalidated) // 2]
    out(f"  median ratio 200/304: {ratio:.2f}x time, {size:,}:0 bytes")


class Receiver:
    def __init__(self, delay: float):
        self.count = 0
        lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("content-length", 0)))
                time.sleep(delay)
                with lock:
                    receiver.count += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def bench_webhooks(db, user_id: int, count: int) -> None:
    from tickerwatch.data import webhooks as webhook_store
    from tickerwatch.notifications import dispatch_notifications
    from tickerwatch.webhooks import WebhookPoster, new_secret

    class NoEmail:
        def send(self, email):
            return None

    out(f"webhooks: {count} deliveries from one dispatcher run (16 threads), local receiver")
    for delay in (0.0, 0.05):
        receiver = Receiver(delay)
        hook = db.run(lambda conn, url=receiver.url: webhook_store.insert_webhook(conn, user_id, url, new_secret()))
        db.run(lambda conn, h=hook: seed_outbox(conn, user_id, h, count))
        started = time.perf_counter()
        dispatch_notifications(
            db, NoEmail(), max_attempts=3, concurrency=16, webhook_poster=WebhookPoster(allow_private=True)
        )
        seconds = time.perf_counter() - started
        receiver.server.shutdown()
        assert receiver.count == count, (receiver.count, count)
        out(f"  receiver answers in {delay * 1000:>3.0f} ms: {seconds:6.2f} s, {count / seconds:7.1f} deliveries/s")


def seed_outbox(conn, user_id: int, hook: WebhookRow, count: int) -> None:
    """`count` fired triggers, each with a pending webhook delivery (what the evaluator's claim writes)."""
    conn.execute("DELETE FROM notifications")
    conn.execute("DELETE FROM alert_triggers")
    conn.execute(
        """WITH t AS (
             INSERT INTO alert_triggers (user_id, sequence, symbol, alert_type, condition, threshold_price, price,
                                         quoted_at)
             SELECT %s, g, 'W000', 'threshold', 'above', 100, 101, now() FROM generate_series(1, %s) g
             RETURNING id)
           INSERT INTO notifications (trigger_id, user_id, channel, recipient, webhook_id, status)
           SELECT t.id, %s, 'webhook', %s, %s, 'pending' FROM t""",
        (user_id, count, user_id, hook.url, hook.id),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--webhooks", type=int, default=500)
    args = parser.parse_args()
    bench_database()
    from tickerwatch.accounts import register
    from tickerwatch.runtime import get_database
    from tickerwatch.web import password_hasher

    db = get_database()
    db.run(lambda conn: conn.execute("TRUNCATE users, stocks RESTART IDENTITY CASCADE"))
    user_id = register(db, password_hasher(), "bench", "bench@example.com", PASSWORD).id
    seed_watchlists(db, user_id)
    bench_polling(db, user_id, args.rounds)
    bench_webhooks(db, user_id, args.webhooks)


if __name__ == "__main__":
    main()
