"""A progress bar for long jobs on a terminal; silent anywhere else (Lambda, CI, pipes, logs)."""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO


class Progress:
    """``with Progress(total, "backfill") as bar: bar.advance(n)``; draws at most ten times a second."""

    def __init__(self, total: int, label: str, stream: TextIO | None = None):
        self.total, self.label = max(int(total), 0), label
        self.stream = stream or sys.stderr
        self.done = 0
        self.started = time.monotonic()
        self._drawn = 0.0
        self.enabled = (
            self.total > 0
            and hasattr(self.stream, "isatty")
            and self.stream.isatty()
            and "AWS_LAMBDA_FUNCTION_NAME" not in os.environ
            and not os.environ.get("CI")
        )

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def advance(self, amount: int = 1) -> None:
        self.done = min(self.total, self.done + amount)
        now = time.monotonic()
        if self.enabled and (now - self._drawn >= 0.1 or self.done == self.total):
            self._drawn = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        share = self.done / self.total
        filled = int(share * 30)
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {share:4.0%}"
            f" {self.done:,}/{self.total:,} {now - self.started:5.1f}s"
        )
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw(time.monotonic())
            self.stream.write("\n")
            self.stream.flush()
            self.enabled = False
