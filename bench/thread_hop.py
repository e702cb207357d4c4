"""What one hop from the event loop to a worker thread and back costs: Starlette's run_in_threadpool (anyio,
what FastAPI uses for sync endpoints and dependencies) beside tickerwatch.web.in_thread (asyncio's executor with
the context copied in, what GuardedRoute uses), on uvloop as the local server runs, 8 tasks hopping at once.

Prints, for each, the median and p95 over 9 rounds of 4,000 hops of the wall time and the process CPU time a hop,
and their ratio. Run: .venv/bin/python bench/thread_hop.py
"""

from __future__ import annotations

import asyncio
import resource
import statistics
import time

import _common  # noqa: F401  (the environment every bench sets)
import uvloop
from _common import out
from starlette.concurrency import run_in_threadpool

from tickerwatch.web import in_thread

ROUNDS, HOPS, TASKS = 9, 4_000, 8


def nothing() -> int:
    return 1


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def measure() -> dict[str, tuple[list[float], list[float]]]:
    ways = {
        "starlette run_in_threadpool": lambda: run_in_threadpool(nothing),
        "web.in_thread": lambda: in_thread(nothing),
    }
    results: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in ways}

    async def hops(hop, count: int) -> None:
        for _ in range(count):
            await hop()

    for hop in ways.values():  # warm both pools
        await asyncio.gather(*(hops(hop, 50) for _ in range(TASKS)))
    for _ in range(ROUNDS):
        for name, hop in ways.items():  # alternately, so both meet the same moments of the machine
            wall, cpu = time.perf_counter(), cpu_seconds()
            await asyncio.gather(*(hops(hop, HOPS // TASKS) for _ in range(TASKS)))
            results[name][0].append((time.perf_counter() - wall) / HOPS * 1e6)
            results[name][1].append((cpu_seconds() - cpu) / HOPS * 1e6)
    return results


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    results = uvloop.run(measure())
    out(f"one hop to a worker thread and back, {TASKS} tasks at once, {ROUNDS} rounds of {HOPS:,} hops (us a hop):")
    out(f"{'':<30} {'wall median':>12} {'wall p95':>9} {'CPU median':>11} {'CPU p95':>8}")
    for name, (wall, cpu) in results.items():
        out(
            f"{name:<30} {statistics.median(wall):>12.1f} {p95(wall):>9.1f}"
            f" {statistics.median(cpu):>11.1f} {p95(cpu):>8.1f}"
        )
    (anyio_wall, anyio_cpu), (ours_wall, ours_cpu) = results.values()
    out(
        f"run_in_threadpool / in_thread: wall {statistics.median(anyio_wall) / statistics.median(ours_wall):.1f}x,"
        f" CPU {statistics.median(anyio_cpu) / statistics.median(ours_cpu):.1f}x"
    )


if __name__ == "__main__":
    main()
