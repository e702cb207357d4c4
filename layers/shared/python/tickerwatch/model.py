"""A numpy runtime for stacked-LSTM regressors: float32, batched over windows.

Layout follows Keras: per LSTM layer a kernel (in, 4H), a recurrent kernel (H, 4H) and a bias
(4H), gates in the order i, f, c, o, sigmoid gates and tanh cell, zero initial state; every LSTM
layer but the last returns sequences. Dense layers are linear unless told.

How it runs (docs/decisions.md, "LSTM runtime"): state is kept feature-major, (features, windows),
so each gate is a contiguous block of rows; each step of each layer is one matrix product of the
stacked weights [kernel; bias; recurrent] with the stacked rows [input; 1; h], which adds the
input projection and the bias inside the product; the layers advance together step by step, so
no sequence is ever materialised; one tanh covers all four gates (sigmoid(x) = (1 + tanh(x/2)) / 2,
with the halving folded into the weights). Large batches are split across the CPUs, each thread
with a single-threaded BLAS.
"""

from __future__ import annotations

import ctypes
import itertools
import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "weights" / "lstm.npz"
# Below this many windows per thread, splitting costs more in thread hand-offs than it saves.
MIN_WINDOWS_PER_THREAD = 64


@dataclass
class LstmLayer:
    kernel: np.ndarray  # (in, 4H)
    recurrent: np.ndarray  # (H, 4H)
    bias: np.ndarray  # (4H,)

    @property
    def units(self) -> int:
        return self.recurrent.shape[0]


@dataclass
class DenseLayer:
    kernel: np.ndarray  # (in, out)
    bias: np.ndarray  # (out,)
    activation: str = "linear"


@dataclass
class LstmModel:
    lstm: list[LstmLayer]
    dense: list[DenseLayer]
    meta: dict[str, Any] = field(default_factory=dict)
    _fused: list[_FusedLayer] | None = field(default=None, repr=False, compare=False)

    @property
    def window(self) -> int:
        return int(self.meta.get("window", 100))

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "unversioned"))

    # ------------------------------------------------------------ inference

    def predict(self, windows: np.ndarray, *, threads: int | None = None) -> np.ndarray:
        """(N, T) or (N, T, F) scaled inputs -> (N,) scaled next values.

        ``threads`` caps how many threads share the batch (default: the CPUs this process may use)."""
        x = np.asarray(windows, dtype=np.float32)
        if x.ndim == 2:
            x = x[:, :, None]
        if self._fused is None:
            self._fused = [_FusedLayer.of(layer) for layer in self.lstm]
        parts = _split(len(x), _available_cpus() if threads is None else threads)
        if len(parts) == 1:
            h = _final_state(self._fused, x)
        else:
            fused = self._fused
            h = np.concatenate(list(_pool(len(parts)).map(lambda part: _final_state(fused, x[part]), parts)))
        for layer in self.dense:
            h = h @ layer.kernel + layer.bias
            if layer.activation == "relu":
                h = np.maximum(h, 0, out=h)
            elif layer.activation == "tanh":
                h = np.tanh(h)
        return h[:, 0] if h.shape[1] == 1 else h

    # ------------------------------------------------------------ persistence

    def save(self, path: Path) -> None:
        arrays: dict[str, np.ndarray] = {"meta": np.array(json.dumps(self.meta))}
        for i, layer in enumerate(self.lstm):
            arrays[f"lstm{i}_kernel"], arrays[f"lstm{i}_recurrent"], arrays[f"lstm{i}_bias"] = (
                layer.kernel,
                layer.recurrent,
                layer.bias,
            )
        for i, layer in enumerate(self.dense):
            arrays[f"dense{i}_kernel"], arrays[f"dense{i}_bias"] = layer.kernel, layer.bias
        arrays["dense_activations"] = np.array(json.dumps([d.activation for d in self.dense]))
        np.savez(path, **arrays)

    @classmethod
    def load(cls, path: Path) -> LstmModel:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            activations = json.loads(str(data["dense_activations"]))
            lstm = []
            while f"lstm{len(lstm)}_kernel" in data:
                i = len(lstm)
                lstm.append(LstmLayer(*(_f32(data[f"lstm{i}_{k}"]) for k in ("kernel", "recurrent", "bias"))))
            dense = [
                DenseLayer(_f32(data[f"dense{i}_kernel"]), _f32(data[f"dense{i}_bias"]), activations[i])
                for i in range(len(activations))
            ]
        return cls(lstm, dense, meta)

    @classmethod
    def from_keras_npz(cls, path: Path, meta: dict[str, Any] | None = None) -> LstmModel:
        """Weights exported from a Keras Sequential model: keys lstm_w0..2, lstm_1_w0..2, dense_w0..1, ...

        Keras numbers repeated layers ``lstm``, ``lstm_1``, ``lstm_2``; same for ``dense``.
        """
        with np.load(path, allow_pickle=False) as data:
            keys = set(data.files)

            def names(prefix: str) -> list[str]:
                found, i = [], 0
                while True:
                    name = prefix if i == 0 else f"{prefix}_{i}"
                    if f"{name}_w0" not in keys:
                        return found
                    found.append(name)
                    i += 1

            lstm = [LstmLayer(*(_f32(data[f"{n}_w{k}"]) for k in range(3))) for n in names("lstm")]
            dense = [DenseLayer(_f32(data[f"{n}_w0"]), _f32(data[f"{n}_w1"])) for n in names("dense")]
        if not lstm:
            raise ValueError(f"{path}: no Keras LSTM weights (expected keys like lstm_w0)")
        return cls(lstm, dense, {"name": "keras-import", "version": "keras", "window": 100, **(meta or {})})

    @classmethod
    def from_torch_state_dict(
        cls,
        state: dict[str, Any],
        dense_activations: list[str] | None = None,
        meta: dict[str, Any] | None = None,
    ) -> LstmModel:
        """A PyTorch state_dict of nn.LSTM layers (weight_ih_l0 ...) followed by nn.Linear layers.

        PyTorch's gate order (i, f, g, o) is Keras' (i, f, c, o); its kernels are transposed and it
        has two biases, which add up.
        """
        arrays = {k: np.asarray(v.detach().cpu().numpy() if hasattr(v, "detach") else v) for k, v in state.items()}
        lstm: list[LstmLayer] = []
        prefixes = sorted({k.rsplit(".", 1)[0] for k in arrays if k.endswith("weight_ih_l0")})
        for prefix in prefixes:
            layer_index = 0
            while f"{prefix}.weight_ih_l{layer_index}" in arrays:
                p = f"{prefix}.%s_l{layer_index}"
                lstm.append(
                    LstmLayer(
                        _f32(arrays[p % "weight_ih"].T),
                        _f32(arrays[p % "weight_hh"].T),
                        _f32(arrays[p % "bias_ih"] + arrays[p % "bias_hh"]),
                    )
                )
                layer_index += 1
        linear = [
            k[: -len(".weight")]
            for k in arrays
            if k.endswith(".weight") and "weight_ih" not in k and "weight_hh" not in k and arrays[k].ndim == 2
        ]
        activations = dense_activations or ["linear"] * len(linear)
        dense = [
            DenseLayer(_f32(arrays[f"{n}.weight"].T), _f32(arrays[f"{n}.bias"]), a)
            for n, a in zip(linear, activations, strict=True)
        ]
        return cls(lstm, dense, dict(meta or {}))


def _f32(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32)


@dataclass(frozen=True)
class _FusedLayer:
    weights: np.ndarray  # (4H, in + 1 + H): [kernel; bias; recurrent] transposed; rows i, f, o halved, then c
    inputs: int
    units: int

    @classmethod
    def of(cls, layer: LstmLayer) -> _FusedLayer:
        units = layer.units
        order = np.r_[0 : 2 * units, 3 * units : 4 * units, 2 * units : 3 * units]  # i, f, o, c
        stacked = np.concatenate([layer.kernel, layer.bias[None, :], layer.recurrent])[:, order].T.astype(np.float64)
        stacked[: 3 * units] *= 0.5
        return cls(_f32(stacked), layer.kernel.shape[0], units)


def _final_state(layers: list[_FusedLayer], x: np.ndarray) -> np.ndarray:
    """(N, T, F) inputs -> (N, H) last hidden state of the last layer."""
    n, steps, features = x.shape
    inputs = np.ascontiguousarray(x.transpose(1, 2, 0))  # (T, F, N): each step's rows contiguous
    # rows[l] = [input of layer l; 1; h of layer l]; layer l + 1's input rows are a copy of layer l's h.
    rows = [np.zeros((layer.inputs + 1 + layer.units, n), dtype=np.float32) for layer in layers]
    for layer, stacked in zip(layers, rows, strict=True):
        stacked[layer.inputs] = 1.0
    gates = [np.empty((4 * layer.units, n), dtype=np.float32) for layer in layers]
    cells = [np.zeros((layer.units, n), dtype=np.float32) for layer in layers]
    scratch = [np.empty((layer.units, n), dtype=np.float32) for layer in layers]
    last = len(layers) - 1
    for t in range(steps):
        rows[0][:features] = inputs[t]
        for index, layer in enumerate(layers):
            units, z, c, tanh_c = layer.units, gates[index], cells[index], scratch[index]
            np.matmul(layer.weights, rows[index], out=z)
            np.tanh(z, out=z)
            sigmoid = z[: 3 * units]
            sigmoid *= 0.5
            sigmoid += 0.5
            i, f, o, g = z[:units], z[units : 2 * units], z[2 * units : 3 * units], z[3 * units :]
            c *= f
            i *= g
            c += i
            np.tanh(c, out=tanh_c)
            h = rows[index][layer.inputs + 1 :]
            np.multiply(o, tanh_c, out=h)
            if index < last:
                rows[index + 1][:units] = h
    return rows[last][layers[last].inputs + 1 :].T


def _available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _split(n: int, threads: int) -> list[slice]:
    count = max(1, min(threads, n // MIN_WINDOWS_PER_THREAD))
    if count > 1 and not _blas_on_one_thread():
        count = 1  # threads that each run a multi-threaded BLAS fight over the same cores
    bounds = np.linspace(0, n, count + 1).round().astype(int)
    return [slice(int(a), int(b)) for a, b in itertools.pairwise(bounds)]


def _openblas_thread_setter() -> Callable[[int], int] | None:
    """``openblas_set_num_threads_local`` from the OpenBLAS in numpy's wheel (process-wide despite its
    name; the one setter every scipy-openblas build exports unprefixed)."""
    libs = Path(np.__file__).resolve().parent.parent / "numpy.libs"
    for path in sorted(libs.glob("*openblas*.so*")):
        setter = getattr(ctypes.CDLL(str(path)), "openblas_set_num_threads_local", None)
        if setter is not None:
            setter.argtypes, setter.restype = [ctypes.c_int], ctypes.c_int
            return setter
    return None


@cache
def _blas_on_one_thread() -> bool:
    """Once this process splits batches over its own threads, OpenBLAS runs on the calling thread
    only, for good: its thread count is process-wide, and its workers spin for a while after each
    product, so switching it back and forth costs a third more than leaving it at one."""
    setter = _openblas_thread_setter()
    if setter is None:
        return False
    setter(1)
    return True


@cache
def _pool(threads: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(threads, thread_name_prefix="lstm")
