"""Live updates on the local server: 1,000 subscribers on one machine with the server, 500 symbols
changing every second, each change published as fetch_prices publishes it (AppSyncEventsPublisher,
HTTP publish) the moment it would have committed: spread over the second (ticks, the default) or
all at once (``--burst``, one commit of every symbol, as a fetch makes).

Prints: publish -> delivered latency p50/p95/p99, messages a second delivered, the server's CPU (cores
busy) and its memory per connection; a fill's order request -> its owner's socket; and how many
events reached a user who may not see them (must be 0), with the refused subscriptions to another
user's channel.

    .venv/bin/python bench/live.py [--subscribers 1000] [--symbols 500] [--per-subscriber 5] [--seconds 20] [--burst]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import statistics
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import psutil
from _common import bench_database, copy_market, out
from load import RAISED_LIMITS, launch

from tickerwatch import appsync_events
from tickerwatch.appsync_events import AppSyncEventsPublisher
from tickerwatch.live import LiveEvent, price_channel, user_channel

PROTOCOL = "aws-appsync-event-ws"


def header(host: str, token: str) -> str:
    raw = json.dumps({"host": host, "Authorization": token}).encode()
    return "header-" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def tokens_for(user_ids: range) -> dict[int, str]:
    """Access tokens signed with the server's key (the authorizer verifies them; no database read)."""
    from tickerwatch.accounts import TokenPolicy
    from tickerwatch.signing import SigningKeys

    policy = TokenPolicy(SigningKeys(os.environ["JWT_SECRET"]), timedelta(hours=1), timedelta(hours=1))
    now = datetime.now(UTC)
    return {uid: policy.access_token(uid, now) for uid in user_ids}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


class Stats:
    def __init__(self):
        self.latencies: list[float] = []
        self.delivered = 0
        self.wrong_user = 0
        self.refused = 0
        self.measuring = False


async def subscriber(ws_url, host, user_id, token, symbols, stats: Stats, ready: asyncio.Event, connected: list):
    from websockets.asyncio.client import connect

    async with connect(ws_url, subprotocols=[PROTOCOL, header(host, token)], max_queue=None, open_timeout=60) as ws:
        await ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        auth = {"Authorization": token, "host": host}
        channels = [user_channel(user_id), user_channel(user_id + 1), *(price_channel(s) for s in symbols)]
        for channel in channels:
            await ws.send(
                json.dumps({"type": "subscribe", "id": str(uuid.uuid4()), "channel": channel, "authorization": auth})
            )
        answers = 0
        while answers < len(channels):
            message = json.loads(await ws.recv())
            if message["type"] == "subscribe_error":
                stats.refused += 1
                answers += 1
            elif message["type"] == "subscribe_success":
                answers += 1
        connected.append(user_id)
        await ready.wait()
        async for raw in ws:
            message = json.loads(raw)
            if message.get("type") != "data":
                continue
            event = json.loads(message["event"])
            if "user" in event and event["user"] != user_id:
                stats.wrong_user += 1
            if stats.measuring:
                stats.latencies.append(time.time() - event["sent"])
                stats.delivered += 1


def publish_loop(
    http_url: str, symbols: list[str], users: int, stop: threading.Event, rounds: list[float], burst: bool
) -> None:
    """Each second: every symbol's new price, and events on 50 users' own channels. ``burst``: all of
    them committed at one moment and published together (one fetch_prices commit); otherwise spread
    over the second, each at its own moment (ticks), by PUBLISH_THREADS publishers."""
    if burst:
        publisher = AppSyncEventsPublisher(http_url)
        price = dict.fromkeys(symbols, 100.0)
        while not stop.is_set():
            started = time.time()
            events = [_price(s, price, started) for s in symbols]
            events += [_user(uid, started) for uid in random.sample(range(1, users + 1), 50)]
            publisher.publish(events)
            rounds.append(time.time() - started)
            stop.wait(max(0.0, 1.0 - (time.time() - started)))
        return
    threads = [
        threading.Thread(
            target=_ticks, args=(http_url, symbols[k::PUBLISH_THREADS], users, k, stop, rounds), daemon=True
        )
        for k in range(PUBLISH_THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


PUBLISH_THREADS = 4


def _price(symbol: str, price: dict, sent: float) -> LiveEvent:
    price[symbol] *= 1 + random.gauss(0, 0.001)
    return LiveEvent(
        price_channel(symbol), {"type": "price", "symbol": symbol, "price": round(price[symbol], 4), "sent": sent}
    )


def _user(uid: int, sent: float) -> LiveEvent:
    return LiveEvent(user_channel(uid), {"type": "portfolio.changed", "user": uid, "sent": sent})


def _ticks(http_url, symbols, users, k, stop, rounds) -> None:
    publisher = AppSyncEventsPublisher(http_url)
    price = dict.fromkeys(symbols, 100.0)
    share = [("price", s) for s in symbols] + [("user", None)] * (50 // PUBLISH_THREADS)
    while not stop.is_set():
        started = time.time()
        for i, (kind, symbol) in enumerate(share):
            delay = started + i / len(share) - time.time()
            if delay > 0:
                time.sleep(delay)
            sent = time.time()
            event = _price(symbol, price, sent) if kind == "price" else _user(random.randint(1, users), sent)
            publisher.publish([event])
        if k == 0:
            rounds.append(time.time() - started)
        stop.wait(max(0.0, 1.0 - (time.time() - started)))


async def measure_fills(base: str, host: str, count: int) -> list[float]:
    """A market order's request -> its order.filled event on the owner's socket."""
    from websockets.asyncio.client import connect

    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        body = {"username": "filler", "email": "filler@example.com", "password": "correct-horse-9"}
        user = (await client.post("/api/v1/register/", json=body)).json()
        token = (await client.post("/api/v1/token/", json={"username": "filler", "password": body["password"]})).json()[
            "access"
        ]
        ws_url = base.replace("http", "ws") + "/event/realtime"
        async with connect(ws_url, subprotocols=[PROTOCOL, header(host, token)]) as ws:
            await ws.send(json.dumps({"type": "connection_init"}))
            await ws.recv()
            await ws.send(
                json.dumps(
                    {
                        "type": "subscribe",
                        "id": "mine",
                        "channel": user_channel(user["id"]),
                        "authorization": {"Authorization": token, "host": host},
                    }
                )
            )
            while json.loads(await ws.recv())["type"] != "subscribe_success":
                pass
            waits = []
            for _ in range(count):
                started = time.perf_counter()
                order = {"symbol": "FILL", "side": "buy", "qty": "1", "type": "market"}
                reply = await client.post("/api/v1/orders/", json=order, headers={"Authorization": f"Bearer {token}"})
                assert reply.status_code == 201, reply.text
                while True:
                    message = json.loads(await ws.recv())
                    if message.get("type") == "data" and json.loads(message["event"])["type"] == "order.filled":
                        break
                waits.append(time.perf_counter() - started)
            return waits


def subscriber_process(uids, tokens, symbol_sets, ws_url, host, connected, go, done, results) -> None:
    """A share of the subscribers in a process of its own (one event loop cannot decode every
    subscriber's messages and leave the publisher its share of the CPU)."""

    async def main():
        stats, ready, mine = Stats(), asyncio.Event(), []
        tasks = []
        for uid, token, chosen in zip(uids, tokens, symbol_sets, strict=True):
            tasks.append(asyncio.create_task(subscriber(ws_url, host, uid, token, chosen, stats, ready, mine)))
            if len(tasks) % 50 == 0:
                await asyncio.sleep(0.05)  # connect in waves, as clients arrive
        while len(mine) < len(uids):
            await asyncio.sleep(0.1)
            failed = [t for t in tasks if t.done() and t.exception()]
            if failed:
                raise failed[0].exception()
        connected.put(len(mine))
        ready.set()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, go.wait)
        stats.measuring = True
        await loop.run_in_executor(None, done.wait)
        stats.measuring = False
        results.put((stats.latencies, stats.delivered, stats.wrong_user, stats.refused))
        for task in tasks:
            task.cancel()

    asyncio.run(main())


async def run(args) -> None:
    import multiprocessing

    url = bench_database("tickerwatch_bench_live")
    import psycopg

    with psycopg.connect(url) as conn:
        copy_market(conn, [], {"FILL": 100.0}, datetime.now(UTC) - timedelta(seconds=30))
    port = 8790
    command = [
        sys.executable,
        "-m",
        "tickerwatch.cli",
        "serve",
        "--no-jobs",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    server = launch(command, port, {**RAISED_LIMITS, "RATE_LIMIT_ORDERS_PER_USER": "100000"})
    base, host = f"http://127.0.0.1:{port}", f"127.0.0.1:{port}"
    ws_url = base.replace("http", "ws") + "/event/realtime"
    process = psutil.Process(server.pid)
    context = multiprocessing.get_context("spawn")
    connected, results = context.Queue(), context.Queue()
    go, done = context.Event(), context.Event()
    workers = []
    try:
        symbols = [f"S{i:03d}" for i in range(args.symbols)]
        tokens = tokens_for(range(1, args.subscribers + 1))
        rss_before = process.memory_info().rss
        started = time.perf_counter()
        uids = list(tokens)
        for share in range(args.processes):
            mine = uids[share :: args.processes]
            sets = [random.sample(symbols, args.per_subscriber) for _ in mine]
            worker = context.Process(
                target=subscriber_process,
                args=(mine, [tokens[u] for u in mine], sets, ws_url, host, connected, go, done, results),
                daemon=True,
            )
            worker.start()
            workers.append(worker)
        total = sum(connected.get(timeout=300) for _ in workers)
        setup = time.perf_counter() - started
        rss_after = process.memory_info().rss
        subscriptions = total * (args.per_subscriber + 1)
        out(
            f"{total} subscribers in {args.processes} processes connected and subscribed ({subscriptions} "
            f"subscriptions) in {setup:.1f} s"
        )
        stop, rounds = threading.Event(), []
        publisher = threading.Thread(
            target=publish_loop,
            args=(base + "/event", symbols, args.subscribers, stop, rounds, args.burst),
            daemon=True,
        )
        publisher.start()
        time.sleep(3)  # warm
        go.set()
        cpu_before, wall_before = sum(process.cpu_times()[:2]), time.perf_counter()
        time.sleep(args.seconds)
        cpu_after, wall_after = sum(process.cpu_times()[:2]), time.perf_counter()
        done.set()
        stop.set()
        publisher.join()
        latencies, delivered, wrong, refused = [], 0, 0, 0
        for _ in workers:
            part = results.get(timeout=60)
            latencies += part[0]
            delivered += part[1]
            wrong += part[2]
            refused += part[3]
        wall = wall_after - wall_before
        ms = [x * 1000 for x in latencies]
        out(
            "burst: all changes committed at once each second" if args.burst else "ticks: each change at its own moment"
        )
        out(
            f"publish -> delivered: p50 {percentile(ms, 0.5):.1f} ms  p95 {percentile(ms, 0.95):.1f} ms  "
            f"p99 {percentile(ms, 0.99):.1f} ms  max {max(ms):.1f} ms  (n={len(ms)})"
        )
        out(
            f"delivered {delivered / wall:,.0f} messages/s; a second's publishes took median "
            f"{statistics.median(rounds) * 1000:.0f} ms ({args.symbols} prices + 50 user events, "
            f"{len(rounds)} rounds)"
        )
        out(
            f"server CPU {100 * (cpu_after - cpu_before) / wall:.0f}% of one core; memory "
            f"{(rss_after - rss_before) / total / 1024:.1f} KiB per connection "
            f"({(rss_after - rss_before) / 2**20:.1f} MiB for {total})"
        )
        out(
            f"events delivered to a user who may not see them: {wrong}; subscriptions to another user's "
            f"channel refused: {refused} of {total}"
        )
        fills = await measure_fills(base, host, args.fills)
        fills_ms = [x * 1000 for x in fills]
        out(
            f"market order request -> order.filled on its owner's socket: median {statistics.median(fills_ms):.1f} ms  "
            f"p95 {percentile(fills_ms, 0.95):.1f} ms  (n={len(fills_ms)}, while {total} stay connected)"
        )
    finally:
        for worker in workers:
            worker.terminate()
        server.terminate()
        server.wait(30)


class _NoMetrics:
    def add_metric(self, **_):
        pass


def main() -> None:
    appsync_events.metrics = _NoMetrics()  # 550 publishes a second would flush EMF lines onto the report
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--per-subscriber", type=int, default=5, help="price channels each subscriber listens to")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--fills", type=int, default=20)
    parser.add_argument("--processes", type=int, default=2, help="subscriber processes")
    parser.add_argument("--burst", action="store_true", help="every second's changes committed and published at once")
    args = parser.parse_args()
    out(f"bench/live.py on {os.cpu_count()} cores; the load generator shares them with the server")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
