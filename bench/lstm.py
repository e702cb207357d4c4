"""The LSTM runtime beside a textbook float64 implementation, on the same inputs, in one run.

755 windows x 100 steps through the Keras 128/64 model (shared/models/keras_lstm_aapl.npz):
- ours: `LstmModel.predict` as the predict function runs it (the batch split over the CPUs), unsplit
  (one Python thread, BLAS's threads in the products), and on one core (what a Lambda function
  with one vCPU gets);
- reference: float64, per step and per gate, as a textbook writes it (four products per gate
  input, the logistic sigmoid from exp), the batch of windows as rows.
The outputs must agree to 1e-5. Arithmetic rates are the products' FLOPs (2 per multiply-add)
over the median time, beside this CPU's single-precision matrix-multiply rate measured here.
Also the shipped model (window 60, 64/32) as the predict function runs it.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
from _common import ROOT, summary

from tickerwatch.model import DEFAULT_WEIGHTS, LstmModel
from tickerwatch.progress import Progress

WINDOWS, STEPS, RUNS, REFERENCE_RUNS = 755, 100, 15, 5


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def textbook(model: LstmModel, windows: np.ndarray) -> np.ndarray:
    sequence = windows.astype(np.float64)[:, :, None]
    for layer in model.lstm:
        units = layer.units
        kernel, recurrent, bias = (a.astype(np.float64) for a in (layer.kernel, layer.recurrent, layer.bias))
        w_i, w_f, w_c, w_o = (kernel[:, k * units : (k + 1) * units] for k in range(4))
        u_i, u_f, u_c, u_o = (recurrent[:, k * units : (k + 1) * units] for k in range(4))
        b_i, b_f, b_c, b_o = (bias[k * units : (k + 1) * units] for k in range(4))
        h = np.zeros((len(windows), units))
        c = np.zeros((len(windows), units))
        outputs = []
        for t in range(sequence.shape[1]):
            x = sequence[:, t, :]
            i = sigmoid(x @ w_i + h @ u_i + b_i)
            f = sigmoid(x @ w_f + h @ u_f + b_f)
            g = np.tanh(x @ w_c + h @ u_c + b_c)
            o = sigmoid(x @ w_o + h @ u_o + b_o)
            c = f * c + i * g
            h = o * np.tanh(c)
            outputs.append(h)
        sequence = np.stack(outputs, axis=1)
    y = sequence[:, -1, :]
    for dense in model.dense:
        y = y @ dense.kernel.astype(np.float64) + dense.bias.astype(np.float64)
    return y[:, 0]


def flops(model: LstmModel, windows: int, steps: int) -> float:
    per_step = sum(2 * (layer.kernel.shape[0] + 1 + layer.units) * 4 * layer.units for layer in model.lstm)
    return float(per_step) * windows * steps


def sgemm_rate() -> float:
    rng = np.random.default_rng(1)
    a, b = (rng.random((2048, 2048), dtype=np.float32) for _ in range(2))
    out = np.empty_like(a)
    np.matmul(a, b, out=out)
    times = []
    for _ in range(7):
        started = time.perf_counter()
        np.matmul(a, b, out=out)
        times.append(time.perf_counter() - started)
    return 2 * 2048**3 / statistics.median(times)


def timed(run, runs: int, bar: Progress) -> list[float]:
    run()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
        bar.advance()
    return times


def main() -> None:
    rng = np.random.default_rng(0)
    keras = LstmModel.from_keras_npz(ROOT.parent / "shared" / "models" / "keras_lstm_aapl.npz")
    shipped = LstmModel.load(DEFAULT_WEIGHTS)
    windows = rng.random((WINDOWS, STEPS), dtype=np.float32)
    shipped_windows = rng.random((WINDOWS, shipped.window), dtype=np.float32)

    expected = textbook(keras, windows)

    def disagreement(threads: int | None) -> float:
        worst = float(np.max(np.abs(keras.predict(windows, threads=threads).astype(np.float64) - expected)))
        assert worst <= 1e-5, f"runtime and reference disagree by {worst:.2e}"
        return worst

    # In this order: the reference and the machine's SGEMM rate with BLAS's own threads, then ours
    # unsplit (BLAS threads in each product), then split over the CPUs, which leaves BLAS on one
    # thread for the rest of the process, then ours on one core.
    times: dict[str, list[float]] = {}
    with Progress(RUNS * 4 + REFERENCE_RUNS + 5, "lstm") as bar:
        rate = sgemm_rate()
        times["reference"] = timed(lambda: textbook(keras, windows), REFERENCE_RUNS, bar)
        unsplit = disagreement(1)
        times["ours, unsplit"] = timed(lambda: keras.predict(windows, threads=1), RUNS, bar)
        split = disagreement(None)
        times["ours"] = timed(lambda: keras.predict(windows), RUNS, bar)
        times["ours, one core"] = timed(lambda: keras.predict(windows, threads=1), RUNS, bar)
        times["shipped"] = timed(lambda: shipped.predict(shipped_windows), RUNS, bar)
    work = flops(keras, WINDOWS, STEPS)
    reference = statistics.median(times["reference"])
    print(f"Keras 128/64, {WINDOWS} windows x {STEPS} steps, {work / 1e9:.1f} GFLOP in the products")
    print(f"agreement with the float64 reference: max |diff| {split:.1e} (unsplit {unsplit:.1e}), bound 1e-5")
    print(f"measured SGEMM 2048^3: {rate / 1e9:.0f} GFLOP/s")
    for label in ("ours", "ours, unsplit", "ours, one core", "reference"):
        median = statistics.median(times[label])
        print(
            f"{summary(label, times[label])}   {reference / median:4.1f}x reference"
            f"   {work / median / 1e9:5.0f} GFLOP/s ({work / median / rate:4.0%} of SGEMM)"
        )
    print(summary(f"shipped {shipped.lstm[0].units}/{shipped.lstm[-1].units}, x {shipped.window}", times["shipped"]))


if __name__ == "__main__":
    main()
