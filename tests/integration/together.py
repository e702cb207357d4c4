"""Start the same work on several threads at one moment: for tests of overlapping runs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def run_together(work: Callable[[], T], count: int) -> tuple[list[T], list[BaseException]]:
    barrier = threading.Barrier(count)
    results: list[T] = []
    errors: list[BaseException] = []

    def runner() -> None:
        barrier.wait()
        try:
            results.append(work())
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=runner) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors
