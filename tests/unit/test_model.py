"""The numpy LSTM runtime: PyTorch parity (golden vectors), the Keras import, persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tickerwatch.model import DEFAULT_WEIGHTS, MIN_WINDOWS_PER_THREAD, DenseLayer, LstmLayer, LstmModel

ROOT = Path(__file__).resolve().parents[2]
KERAS_NPZ = ROOT.parent / "shared" / "models" / "keras_lstm_aapl.npz"


def reference_forward(model: LstmModel, windows: np.ndarray) -> np.ndarray:
    """A plain, unoptimised LSTM in float64, written from the equations, one window at a time."""

    def sigmoid(x):
        return 1 / (1 + np.exp(-x))

    outputs = []
    for window in windows.astype(np.float64):
        seq = window[:, None] if window.ndim == 1 else window
        for layer in model.lstm:
            k, r, b = (a.astype(np.float64) for a in (layer.kernel, layer.recurrent, layer.bias))
            units = r.shape[0]
            h, c, hs = np.zeros(units), np.zeros(units), []
            for x in seq:
                z = x @ k + h @ r + b
                i, f, g, o = (z[j * units : (j + 1) * units] for j in range(4))
                c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
                h = sigmoid(o) * np.tanh(c)
                hs.append(h)
            seq = np.array(hs)
        y = seq[-1]
        for d in model.dense:
            y = y @ d.kernel.astype(np.float64) + d.bias.astype(np.float64)
            y = {"relu": np.maximum(y, 0), "tanh": np.tanh(y)}.get(d.activation, y)
        outputs.append(y[0])
    return np.array(outputs)


def test_numpy_matches_pytorch_golden_vectors():
    # Given inputs and PyTorch's outputs on them, written by `tickerwatch train` with the shipped weights,
    golden = np.load(ROOT / "tests" / "golden" / "lstm_golden.npz")
    model = LstmModel.load(DEFAULT_WEIGHTS)
    # when numpy runs the same weights, the outputs agree within 1e-5.
    np.testing.assert_allclose(model.predict(golden["inputs"]), golden["expected"], atol=1e-5, rtol=0)


def test_keras_export_loads_and_runs():
    model = LstmModel.from_keras_npz(KERAS_NPZ)
    assert [layer.units for layer in model.lstm] == [128, 64]
    assert [d.kernel.shape for d in model.dense] == [(64, 25), (25, 1)]
    rng = np.random.default_rng(3)
    walk = np.cumsum(rng.normal(size=(6, 100)), axis=1)
    windows = (walk - walk.min(1, keepdims=True)) / np.ptp(walk, axis=1, keepdims=True)
    out = model.predict(windows)
    assert out.shape == (6,) and out.dtype == np.float32
    np.testing.assert_allclose(out, reference_forward(model, windows), atol=1e-5)
    # a model trained on scaled closes predicts the next value near the last one
    assert np.all(np.abs(out - windows[:, -1]) < 0.35)


def test_shipped_weights_match_reference_equations():
    model = LstmModel.load(DEFAULT_WEIGHTS)
    windows = np.random.default_rng(5).random((4, model.window), dtype=np.float32)
    np.testing.assert_allclose(model.predict(windows), reference_forward(model, windows), atol=1e-5)


def test_save_and_load_round_trip(tmp_path):
    model = LstmModel.from_keras_npz(KERAS_NPZ, meta={"version": "x1"})
    model.save(tmp_path / "m.npz")
    loaded = LstmModel.load(tmp_path / "m.npz")
    assert loaded.version == "x1" and loaded.window == 100
    x = np.linspace(0, 1, 200, dtype=np.float32).reshape(2, 100)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_from_torch_state_dict_transposes_and_sums_biases():
    rng = np.random.default_rng(9)
    h = 3
    state = {
        "lstm1.weight_ih_l0": rng.normal(size=(4 * h, 1)),
        "lstm1.weight_hh_l0": rng.normal(size=(4 * h, h)),
        "lstm1.bias_ih_l0": rng.normal(size=4 * h),
        "lstm1.bias_hh_l0": rng.normal(size=4 * h),
        "dense1.weight": rng.normal(size=(1, h)),
        "dense1.bias": rng.normal(size=1),
    }
    model = LstmModel.from_torch_state_dict(state)
    np.testing.assert_allclose(model.lstm[0].kernel, state["lstm1.weight_ih_l0"].T, rtol=1e-6)
    np.testing.assert_allclose(model.lstm[0].bias, state["lstm1.bias_ih_l0"] + state["lstm1.bias_hh_l0"], rtol=1e-6)
    assert model.dense[0].kernel.shape == (h, 1)


def test_missing_keras_keys_is_a_clear_error(tmp_path):
    np.savez(tmp_path / "empty.npz", other=np.zeros(1))
    with pytest.raises(ValueError, match="no Keras LSTM weights"):
        LstmModel.from_keras_npz(tmp_path / "empty.npz")


@pytest.mark.parametrize("threads", [2, 3])
def test_a_batch_split_over_threads_keeps_every_window_in_order(threads):
    # Given more windows than the threads share evenly (so the parts differ in size),
    model = LstmModel.load(DEFAULT_WEIGHTS)
    windows = np.random.default_rng(11).random((threads * MIN_WINDOWS_PER_THREAD + 5, model.window), dtype=np.float32)
    # when the batch is split, every output is its own window's, in order, as unsplit and as the equations say.
    split = model.predict(windows, threads=threads)
    assert split.shape == (len(windows),)
    # (float32 sums may round differently with the part's size, hence the tolerance far below any other window's value)
    np.testing.assert_allclose(split, model.predict(windows, threads=1), atol=1e-6, rtol=0)
    np.testing.assert_allclose(split, reference_forward(model, windows), atol=1e-5, rtol=0)


def test_deeper_stacks_with_several_input_features_follow_the_equations():
    # Three LSTM layers of different widths over two input features, relu then linear dense layers:
    rng = np.random.default_rng(12)
    sizes = [(2, 5), (5, 7), (7, 3)]
    lstm = [
        LstmLayer(
            rng.normal(size=(n_in, 4 * h)).astype(np.float32),
            rng.normal(size=(h, 4 * h)).astype(np.float32),
            rng.normal(size=4 * h).astype(np.float32),
        )
        for n_in, h in sizes
    ]
    dense = [
        DenseLayer(rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=4).astype(np.float32), "relu"),
        DenseLayer(rng.normal(size=(4, 1)).astype(np.float32), rng.normal(size=1).astype(np.float32)),
    ]
    model = LstmModel(lstm, dense, {"window": 9})
    windows = rng.normal(size=(6, 9, 2)).astype(np.float32)
    np.testing.assert_allclose(model.predict(windows), reference_forward(model, windows), atol=1e-5, rtol=0)
