"""A numpy runtime for stacked-LSTM regressors: float32, batched over windows.

Layout follows Keras: per LSTM layer a kernel (in, 4H), a recurrent kernel (H, 4H) and a bias
(4H), gates in the order i, f, c, o, sigmoid gates and tanh cell, zero initial state. The
input projection of every time step is one matrix product before the recurrence, which then
only does the (N, H) x (H, 4H) product per step. Dense layers are linear unless told.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "weights" / "lstm.npz"


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
    # Scratch arrays reused across calls (per thread): a fresh 150 MB projection per call costs
    # more in page faults than the arithmetic does.
    _scratch: threading.local = field(default_factory=threading.local, repr=False, compare=False)

    @property
    def window(self) -> int:
        return int(self.meta.get("window", 100))

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "unversioned"))

    # ------------------------------------------------------------ inference

    def predict(self, windows: np.ndarray) -> np.ndarray:
        """(N, T) or (N, T, F) scaled inputs -> (N,) scaled next values."""
        x = np.asarray(windows, dtype=np.float32)
        if x.ndim == 2:
            x = x[:, :, None]
        for index, layer in enumerate(self.lstm):
            x = _run_lstm(layer, x, return_sequences=index < len(self.lstm) - 1, scratch=self._buffers(index))
        for layer in self.dense:
            x = x @ layer.kernel + layer.bias
            if layer.activation == "relu":
                x = np.maximum(x, 0, out=x)
            elif layer.activation == "tanh":
                x = np.tanh(x)
        return x[:, 0] if x.shape[1] == 1 else x

    def _buffers(self, index: int) -> dict[str, np.ndarray]:
        per_layer = getattr(self._scratch, "layers", None)
        if per_layer is None:
            per_layer = self._scratch.layers = {}
        return per_layer.setdefault(index, {})

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


def _ifog(a: np.ndarray, units: int) -> np.ndarray:
    """Reorder the last axis from i, f, c, o to i, f, o, c: one sigmoid over a contiguous block."""
    return np.concatenate([a[..., : 2 * units], a[..., 3 * units :], a[..., 2 * units : 3 * units]], axis=-1)


def _scratch_array(scratch: dict[str, np.ndarray], name: str, shape: tuple[int, ...]) -> np.ndarray:
    size = int(np.prod(shape))
    buffer = scratch.get(name)
    if buffer is None or buffer.size < size:
        buffer = scratch[name] = np.empty(size, dtype=np.float32)
    return buffer[:size].reshape(shape)


def _run_lstm(
    layer: LstmLayer, x: np.ndarray, *, return_sequences: bool, scratch: dict[str, np.ndarray] | None = None
) -> np.ndarray:
    n, steps, _ = x.shape
    units = layer.units
    scratch = {} if scratch is None else scratch
    kernel, recurrent, bias = (_ifog(a, units) for a in (layer.kernel, layer.recurrent, layer.bias))
    # The input projection of every step at once, time-major so each step reads one contiguous
    # (N, 4H) block.
    projected = _scratch_array(scratch, "projected", (steps, n, 4 * units))
    inputs = np.ascontiguousarray(x.transpose(1, 0, 2)).reshape(steps * n, -1)
    np.matmul(inputs, kernel, out=projected.reshape(steps * n, 4 * units))
    projected += bias
    h = np.zeros((n, units), dtype=np.float32)
    c = np.zeros((n, units), dtype=np.float32)
    z = np.empty((n, 4 * units), dtype=np.float32)
    # Returned sequences are the next layer's input and are copied by its projection, so the
    # buffer can be reused on the next call.
    outputs = _scratch_array(scratch, "outputs", (steps, n, units)) if return_sequences else None
    three = 3 * units
    for t in range(steps):
        np.matmul(h, recurrent, out=z)
        z += projected[t]
        gates = z[:, :three]
        gates *= 0.5
        np.tanh(gates, out=gates)
        gates += 1.0
        gates *= 0.5  # sigmoid(x) = (tanh(x/2) + 1) / 2
        np.tanh(z[:, three:], out=z[:, three:])
        c *= z[:, units : 2 * units]
        c += z[:, :units] * z[:, three:]
        h = z[:, 2 * units : three] * np.tanh(c)
        if outputs is not None:
            outputs[t] = h
    return outputs.transpose(1, 0, 2) if outputs is not None else h
