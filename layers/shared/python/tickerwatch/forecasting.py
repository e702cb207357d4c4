"""Forecasts with honest evaluation: pure functions over a close series and a model.

- Every window is min-max scaled by its own values only, so no input sees the future.
- The test window lies strictly after the model's training period for that ticker.
- The naive last-value baseline is always computed beside the model.
- Three candidate forecasts (random walk, LSTM, their combination), each with conformal bands over
  its own errors in units of the volatility known at each origin, and the one served chosen from
  settled outcomes only (``bands``). Coverage, width and the interval (Winkler) score are measured
  prequentially on every origin after a short warm-up, as served and for each candidate; the skill
  against the random walk comes with a Diebold-Mariano p-value (``skill``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from tickerwatch import bands as banding
from tickerwatch.direction import DirectionModel, direction_summary
from tickerwatch.errors import Unprocessable
from tickerwatch.market_time import next_trading_days
from tickerwatch.model import LstmModel
from tickerwatch.skill import diebold_mariano, skill, verdict

# Part of the cache key beside the model version: bump it whenever a change here would change a
# result, or cached forecasts computed the old way keep being served.
METHOD_VERSION = "5"
MAX_TEST_DAYS = 250
MIN_TEST_DAYS = 30
VOLATILITY_DAYS = 20
VOLATILITY_DECAY = 0.94
EPS = 1e-9
LEVELS = banding.LEVELS


def scale_windows(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lo = windows.min(axis=1, keepdims=True)
    span = np.maximum(windows.max(axis=1, keepdims=True) - lo, EPS)
    return (windows - lo) / span, lo[:, 0], span[:, 0]


def recursive_forecast(model: LstmModel, windows: np.ndarray, steps: int) -> np.ndarray:
    """(N, W) closes -> (N, steps) forecasts, each step fed back as the newest input."""
    current = np.array(windows, dtype=np.float64)
    out = np.empty((current.shape[0], steps))
    for k in range(steps):
        scaled, lo, span = scale_windows(current)
        out[:, k] = model.predict(scaled.astype(np.float32)).astype(np.float64) * span + lo
        current = np.concatenate([current[:, 1:], out[:, k : k + 1]], axis=1)
    return out


def metrics(actual: np.ndarray, predicted: np.ndarray, last: np.ndarray, *, directional: bool = True) -> dict:
    err = predicted - actual
    mse = float(np.mean(err**2))
    total = float(np.sum((actual - actual.mean()) ** 2))
    moved = np.sign(actual - last)
    return {
        "mse": mse,
        "rmse": math.sqrt(mse),
        "mae": float(np.mean(np.abs(err))),
        "mape": float(np.mean(np.abs(err) / np.maximum(np.abs(actual), EPS)) * 100),
        "r2": 1 - float(np.sum(err**2)) / total if total > 0 else 0.0,
        # A last-value forecast predicts no move, so it has no direction to be right about.
        "directional_accuracy": float(np.mean(np.sign(predicted - last) == moved)) if directional else None,
    }


def trailing_volatility(series: np.ndarray, decay: float = VOLATILITY_DECAY) -> np.ndarray:
    """Per index t: the exponentially weighted volatility of daily log returns up to t (only data
    known at t; RiskMetrics' 0.94 decay, a half-life of about 11 days). Errors scaled by it are
    comparable between calm and wild periods, and it follows a change of regime in days."""
    returns = np.diff(np.log(np.maximum(series, EPS)))
    out = np.empty(len(series))
    if len(returns) == 0:
        out.fill(1e-6)
        return out
    variance = float(np.mean(returns[:VOLATILITY_DAYS] ** 2))  # a start from the first month
    out[0] = math.sqrt(variance)
    for t, r in enumerate(returns, start=1):
        variance = decay * variance + (1 - decay) * r * r
        out[t] = math.sqrt(variance)
    return np.maximum(out, 1e-6)


def moving_average(values: np.ndarray, n: int) -> list[float | None]:
    if len(values) < n:
        return [None] * len(values)
    csum = np.cumsum(np.insert(values, 0, 0.0))
    ma = (csum[n:] - csum[:-n]) / n
    return [None] * (n - 1) + [round(float(v), 4) for v in ma]


@dataclass(frozen=True)
class Forecasters:
    """The models a forecast is made with: the LSTM's price paths and the direction model."""

    lstm: LstmModel
    direction: DirectionModel | None = None

    @property
    def version(self) -> str:
        """Part of the cache key: a new version of either model makes every stored forecast stale."""
        return self.lstm.version + (f"+d{self.direction.version}" if self.direction else "")


@dataclass(frozen=True)
class ForecastRequest:
    ticker: str
    horizon: int


def required_history(model: LstmModel, horizon: int) -> int:
    return model.window + MIN_TEST_DAYS + horizon


def _test_origins(dates: list[date], window: int, horizon: int, train_end: date | None) -> np.ndarray:
    """Indices t whose one-step target t+1 lies after the training period, newest MAX_TEST_DAYS."""
    last_origin = len(dates) - 2  # needs a target at t + 1
    origins = [t for t in range(window - 1, last_origin + 1) if train_end is None or dates[t + 1] > train_end]
    return np.array(origins[-MAX_TEST_DAYS:], dtype=int)


def build_forecast(
    request: ForecastRequest,
    dates: list[date],
    closes: list[float],
    model: LstmModel,
    direction: DirectionModel | None = None,
) -> dict[str, Any]:
    window, horizon = model.window, request.horizon
    needed = required_history(model, horizon)
    if len(closes) < needed:
        raise Unprocessable(
            f"{request.ticker} has {len(closes)} daily closes; a {horizon}-day forecast needs at least {needed} "
            f"({window} for the model's input window, {MIN_TEST_DAYS} to evaluate it, {horizon} for the horizon)."
        )
    series = np.asarray(closes, dtype=np.float64)
    trained = (model.meta.get("trained_on") or {}).get(request.ticker) or {}
    train_end = date.fromisoformat(trained["train_end"]) if trained.get("train_end") else None
    origins = _test_origins(dates, window, horizon, train_end)
    if len(origins) < MIN_TEST_DAYS:
        raise Unprocessable(
            f"{request.ticker} has only {len(origins)} days after the model's training period "
            f"(ended {train_end}); at least {MIN_TEST_DAYS} are needed for an honest evaluation."
        )

    # The held-out windows and the latest one in one batch: one pass through the model per day ahead.
    windows = np.lib.stride_tricks.sliding_window_view(series, window)[np.append(origins - window + 1, -1)]
    every_path = recursive_forecast(model, windows, horizon)
    paths = every_path[:-1]  # the last row is the next, unseen forecast's

    # One step ahead: the headline metrics, model beside the naive last value.
    last = series[origins]
    actual = series[origins + 1]
    model_metrics = metrics(actual, paths[:, 0], last)
    naive_metrics = metrics(actual, last, last, directional=False)

    # k steps ahead: each candidate's conformal bands, and the one served at each origin, measured
    # as they would have been served.
    served = banding.served_bands(series, origins, every_path, trailing_volatility(series))
    per_step = [banding.step_figures(served, k) for k in range(1, horizon + 1)]
    counted = [f for f in per_step if f.get("evaluated")]
    total = sum(f["evaluated"] for f in counted)
    chosen = int(served.choice[-1])
    future_days = next_trading_days(dates[-1], horizon)
    forecast = [
        {
            "date": d.isoformat(),
            "close": round(float(served.points[chosen, -1, k]), 4),
            "model_close": round(float(every_path[-1, k]), 4),
            **{
                f"{edge}_{level}": round(float(getattr(served, edge)[chosen, li, -1, k]), 4)
                for li, level in enumerate(LEVELS)
                for edge in ("low", "high")
            },
        }
        for k, d in enumerate(future_days)
    ]
    band_skill = {
        level: _r(
            skill(_pooled(counted, f"winkler_{level}_pct"), _pooled(counted, f"winkler_{level}_pct", "random_walk"))
        )
        if total
        else None
        for level in LEVELS
    }
    point_skill = skill(model_metrics["mse"], naive_metrics["mse"])
    test = diebold_mariano((paths[:, 0] - actual) ** 2, (last - actual) ** 2, horizon=1)
    demonstrated, summary = verdict(point_skill, test, band_skill)
    test_dates = [dates[t + 1].isoformat() for t in origins]
    return {
        "status": "success",
        "ticker": request.ticker,
        "as_of": dates[-1].isoformat(),
        "horizon": horizon,
        **{k: _r(v) for k, v in model_metrics.items()},
        "baseline": {"name": "naive last value", **{k: _r(v) for k, v in naive_metrics.items()}},
        "test_window": {
            "start": test_dates[0],
            "end": test_dates[-1],
            "days": len(origins),
            "after_training_end": train_end.isoformat() if train_end else None,
        },
        "interval_coverage": {
            level: _r(sum(f[f"coverage_{level}"] * f["evaluated"] for f in counted) / total) if total else None
            for level in LEVELS
        }
        | {"evaluated_points": total},
        "served": _served_summary(served, horizon),
        **({"direction": direction_summary(direction, series, origins, dates[-1].isoformat())} if direction else {}),
        "skill": {
            "point": {
                "forecast": "LSTM, one day ahead",
                "value": _r(point_skill),
                "dm_statistic": _r(test.statistic),
                "p_value": _r(test.p_value),
                "evaluated": len(origins),
            },
            "band": band_skill | {"evaluated": total},
            "demonstrated": demonstrated,
            "summary": summary,
        },
        "bands": {
            "method": (
                f"conformal quantile tracking over volatility-scaled errors (rate {banding.TRACKING_RATE} x "
                "sqrt(days ahead)), widening with the horizon and the 95% band holding the 80%; evaluated on every "
                f"test origin after the first {banding.WARMUP}, each band formed from earlier outcomes only"
            ),
            "comparator": "random walk: the last close, with conformal bands over its own errors",
            "per_step": per_step,
        },
        "forecast": forecast,
        "model": {
            "name": model.meta.get("name", "lstm"),
            "version": model.version,
            "window": window,
            "trained_on": model.meta.get("trained_on", {}),
        },
        "series": {
            "dates": [d.isoformat() for d in dates],
            "close": [round(float(c), 4) for c in series],
            "ma_100": moving_average(series, 100),
            "ma_200": moving_average(series, 200),
            "test": {
                "dates": test_dates,
                "actual": [_r(v) for v in actual],
                "predicted": [_r(v) for v in paths[:, 0]],
            },
        },
    }


def _served_summary(served: banding.ServedBands, horizon: int) -> dict[str, Any]:
    chosen = banding.CANDIDATES[int(served.choice[-1])]
    settled = int(served.window_count[-1])
    scores = {c: _r(served.window_scores[j, -1], 3) for j, c in enumerate(banding.CANDIDATES)}
    if settled < banding.MIN_SELECTION:
        reason = (
            f"the random walk by default: {settled} settled {horizon}-day outcomes, {banding.MIN_SELECTION} "
            "needed before the candidates are compared"
        )
    else:
        reason = (
            f"the {banding.NAMES[chosen]}: the lowest interval score (80% plus 95%, in % of the price) over the "
            f"last {banding.SELECTION_WINDOW} settled forecasts at every step up to {horizon} days ("
            + ", ".join(f"{banding.NAMES[c]} {v:.2f}" for c, v in scores.items() if v is not None)
            + ")"
        )
    return {"forecast": chosen, "reason": reason, "window_scores": scores, "settled": settled}


def _pooled(per_step: list[dict[str, Any]], key: str, within: str | None = None) -> float:
    """The mean of a per-step figure over every evaluated origin at every step."""
    total = sum(f["evaluated"] for f in per_step)
    return sum((f[within] if within else f)[key] * f["evaluated"] for f in per_step) / total


def _r(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(float(value), digits)
