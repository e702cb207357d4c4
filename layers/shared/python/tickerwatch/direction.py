"""The next day's direction: 13 technical indicators and a tree ensemble evaluated in numpy.

The ensemble is trained offline by ``tickerwatch train`` with scikit-learn (``direction_training``)
and exported as arrays, so no scikit-learn or scipy reaches a Lambda layer. Every indicator at day t
uses closes up to t only; the label at t is whether the close of t + 1 is above the close of t.
How honest the served accuracy is depends on where it is measured: only on days after the model's
training period for that ticker (the same test window as the forecast's), beside the accuracy of
always calling the more frequent direction on the same days.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_DIRECTION_WEIGHTS = Path(__file__).resolve().parent / "weights" / "direction.npz"
FEATURES = (
    "return_1d",
    "return_5d",
    "return_10d",
    "return_20d",
    "volatility_20d",
    "rsi_14",
    "macd",
    "macd_signal",
    "macd_histogram",
    "bollinger_position",
    "sma_5_over_20",
    "close_over_sma_50",
    "stochastic_14",
)
WARMUP_DAYS = 50  # the longest lookback (the 50-day average): earlier days have no full feature row


def _ema(values: np.ndarray, span: int) -> np.ndarray:
    """The exponential moving average (alpha 2 / (span + 1)) started at the first value."""
    alpha = 2.0 / (span + 1)
    out = np.empty(len(values))
    level = float(values[0])
    for t, v in enumerate(values):
        level = alpha * float(v) + (1 - alpha) * level
        out[t] = level
    return out


def _trailing(values: np.ndarray, days: int, reduce) -> np.ndarray:
    """``reduce`` over the window of ``days`` values ending at each t (nan before a full window)."""
    out = np.full(len(values), np.nan)
    if len(values) >= days:
        out[days - 1 :] = reduce(np.lib.stride_tricks.sliding_window_view(values, days), axis=1)
    return out


def indicators(closes: np.ndarray) -> np.ndarray:
    """(days,) closes -> (days, 13) features, row t from closes up to t only (nan while warming up)."""
    c = np.asarray(closes, dtype=np.float64)
    log_c = np.log(np.maximum(c, 1e-9))
    n = len(c)

    def back(days: int) -> np.ndarray:
        out = np.full(n, np.nan)
        out[days:] = log_c[days:] - log_c[:-days]
        return out

    daily = back(1)
    gains, losses = np.maximum(np.diff(c, prepend=c[0]), 0), np.maximum(-np.diff(c, prepend=c[0]), 0)
    # Wilder's smoothing (alpha 1/14) as an EMA of span 27.
    average_gain, average_loss = _ema(gains, 27), _ema(losses, 27)
    rsi = 1 - 1 / (1 + average_gain / np.maximum(average_loss, 1e-12))
    macd = (_ema(c, 12) - _ema(c, 26)) / c
    signal = _ema(macd, 9)
    sma5, sma20, sma50 = _trailing(c, 5, np.mean), _trailing(c, 20, np.mean), _trailing(c, 50, np.mean)
    sd20 = _trailing(c, 20, np.std)
    low14, high14 = _trailing(c, 14, np.min), _trailing(c, 14, np.max)
    with np.errstate(invalid="ignore", divide="ignore"):
        bollinger = (c - (sma20 - 2 * sd20)) / (4 * sd20)
        stochastic = (c - low14) / (high14 - low14)
    columns = [
        daily,
        back(5),
        back(10),
        back(20),
        _trailing(daily, 20, np.std),
        rsi,
        macd,
        signal,
        macd - signal,
        np.where(np.isfinite(bollinger), bollinger, 0.5),
        sma5 / sma20 - 1,
        c / sma50 - 1,
        np.where(np.isfinite(stochastic), stochastic, 0.5),
    ]
    out = np.column_stack(columns)
    out[:WARMUP_DAYS] = np.nan
    return out


def next_day_up(closes: np.ndarray) -> np.ndarray:
    """Label at t: 1.0 if the close of t + 1 is above the close of t, else 0.0 (nan on the last day)."""
    c = np.asarray(closes, dtype=np.float64)
    out = np.full(len(c), np.nan)
    out[:-1] = (c[1:] > c[:-1]).astype(np.float64)
    return out


@dataclass
class DirectionModel:
    """A forest of binary trees as arrays, one row per tree, padded to the largest tree's node count.

    ``left``/``right`` are child indices (-1 at a leaf); a sample goes left when its feature value,
    as float32 (what scikit-learn compares), is at most the threshold; ``up`` is the leaf's share of
    up days, averaged over the trees as scikit-learn's predict_proba does."""

    feature: np.ndarray  # (trees, nodes) int
    threshold: np.ndarray  # (trees, nodes) float64
    left: np.ndarray  # (trees, nodes) int
    right: np.ndarray  # (trees, nodes) int
    up: np.ndarray  # (trees, nodes) float64
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "unversioned"))

    @property
    def depth(self) -> int:
        return int(self.meta.get("max_depth", self.feature.shape[1]))

    def probability_up(self, features: np.ndarray) -> np.ndarray:
        """(samples, 13) features -> (samples,) probability that the next close is higher."""
        x = np.asarray(features, dtype=np.float32).astype(np.float64)
        trees = np.arange(self.feature.shape[0])[:, None]
        node = np.zeros((self.feature.shape[0], len(x)), dtype=np.int64)
        samples = np.arange(len(x))[None, :]
        for _ in range(self.depth):
            leaf = self.left[trees, node] < 0
            goes_left = x[samples, self.feature[trees, node]] <= self.threshold[trees, node]
            child = np.where(goes_left, self.left[trees, node], self.right[trees, node])
            node = np.where(leaf, node, child)
        return self.up[trees, node].mean(axis=0)

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path,
            feature=self.feature.astype(np.int16),
            threshold=self.threshold,
            left=self.left.astype(np.int32),
            right=self.right.astype(np.int32),
            up=self.up,
            meta=np.array(json.dumps(self.meta)),
        )

    @classmethod
    def load(cls, path: Path = DEFAULT_DIRECTION_WEIGHTS) -> DirectionModel:
        with np.load(path) as f:
            return cls(
                feature=f["feature"].astype(np.int64),
                threshold=f["threshold"],
                left=f["left"].astype(np.int64),
                right=f["right"].astype(np.int64),
                up=f["up"],
                meta=json.loads(str(f["meta"])),
            )


def direction_summary(model: DirectionModel, closes: np.ndarray, origins: np.ndarray, as_of: str) -> dict[str, Any]:
    """The next day's call from the latest close, and how such calls fared on the held-out ``origins``
    (each called from its own day's indicators, judged by the next close), beside always calling the
    direction that was more frequent on those days."""
    features = indicators(closes)
    known = origins[~np.isnan(features[origins]).any(axis=1)]
    rows = np.append(known, len(closes) - 1)
    probability = model.probability_up(np.nan_to_num(features[rows]))
    called_up = probability[:-1] > 0.5
    went_up = next_day_up(closes)[known] == 1.0
    accuracy = float(np.mean(called_up == went_up)) if len(known) else None
    up_share = float(np.mean(went_up)) if len(known) else None
    majority = None if up_share is None else max(up_share, 1 - up_share)
    latest = float(probability[-1])
    if accuracy is None or majority is None:
        summary = "No held-out days to judge the direction model on."
    elif accuracy > majority:
        summary = (
            f"Right on {accuracy * 100:.1f}% of {len(known)} held-out days, against {majority * 100:.1f}% for always "
            f"calling {'up' if up_share >= 0.5 else 'down'}: a small edge on these days, not a promise."
        )
    else:
        summary = (
            f"No demonstrated edge: right on {accuracy * 100:.1f}% of {len(known)} held-out days, against "
            f"{majority * 100:.1f}% for always calling {'up' if up_share >= 0.5 else 'down'}."
        )
    return {
        "as_of": as_of,
        "probability_up": round(latest, 4),
        "call": "up" if latest > 0.5 else "down",
        "held_out_accuracy": None if accuracy is None else round(accuracy, 4),
        "majority_baseline": None if majority is None else round(majority, 4),
        "evaluated": len(known),
        "summary": summary,
        "model": {
            "name": model.meta.get("name", "direction"),
            "version": model.version,
            "features": list(FEATURES),
        },
    }
