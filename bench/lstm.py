"""Batched numpy inference: 755 windows of 100 steps through the Keras 128/64 model, median of 5.

Also the shipped model (window 60, 64/32) on the same number of windows, for comparison.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
from _common import ROOT

from tickerwatch.model import DEFAULT_WEIGHTS, LstmModel


def timed(model: LstmModel, windows: np.ndarray, runs: int = 5) -> list[float]:
    model.predict(windows[:2])  # warm the code paths
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        model.predict(windows)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    rng = np.random.default_rng(0)
    keras = LstmModel.from_keras_npz(ROOT.parent / "shared" / "models" / "keras_lstm_aapl.npz")
    windows = rng.random((755, 100), dtype=np.float32)
    t = timed(keras, windows)
    print(
        f"keras 128/64, 755 x 100 steps: median {statistics.median(t) * 1000:.0f} ms "
        f"(min {min(t) * 1000:.0f}, max {max(t) * 1000:.0f}), {755 / statistics.median(t):.0f} windows/s"
    )
    shipped = LstmModel.load(DEFAULT_WEIGHTS)
    t = timed(shipped, rng.random((755, shipped.window), dtype=np.float32))
    print(
        f"shipped {shipped.meta['config']['units']}, 755 x {shipped.window} steps: median "
        f"{statistics.median(t) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
