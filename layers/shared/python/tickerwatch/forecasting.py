"""Forecasts with honest evaluation: pure functions over a close series and a model.

- Every window is min-max scaled by its own values only, so no input sees the future.
- The test window lies strictly after the model's training period for that ticker.
- The naive last-value baseline is always computed beside the model.
- Bands are adaptive conformal intervals (Gibbs and Candes, 2021) over the held-out errors at each
  step ahead, in units of the volatility known at each origin (EWMA): each interval uses only
  errors whose outcome was known when it was formed, and each miss or hit moves its quantile level.
  Coverage, width and the interval (Winkler) score are measured prequentially on every origin after a
  short warm-up, beside a random-walk band from the recent volatility alone.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from tickerwatch.errors import Unprocessable
from tickerwatch.model import LstmModel

# Part of the cache key beside the model version: bump it whenever a change here would change a
# result, or cached forecasts computed the old way keep being served.
METHOD_VERSION = "4"
MAX_TEST_DAYS = 250
MIN_TEST_DAYS = 30
VOLATILITY_DAYS = 20
VOLATILITY_DECAY = 0.94
EPS = 1e-9
LEVELS = {"80": 0.20, "95": 0.05}  # nominal coverage -> miscoverage alpha
Z = {"80": 1.2815516, "95": 1.9599640}  # the random-walk comparator's normal quantiles
ACI_STEP = 0.05  # gamma: how far one miss or hit moves the quantile level
ACI_SCORES = 250  # the most recent known errors the quantiles come from
ACI_WARMUP = 60  # origins whose intervals only warm the method up (not counted)
MIN_SCORES = 20


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


def next_trading_days(after: date, count: int) -> list[date]:
    """Weekdays after ``after`` (exchange holidays are not modelled)."""
    days, day = [], after
    while len(days) < count:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days.append(day)
    return days


@dataclass
class ConformalRun:
    """Adaptive conformal intervals over one step-ahead's scaled errors, formed in time order."""

    lower: np.ndarray  # per origin, the lower quantile of scaled error (nan: not formed yet)
    upper: np.ndarray
    final_lower: float  # the interval for the next, unseen origin
    final_upper: float


def adaptive_conformal(scores: np.ndarray, alpha: float, delay: int) -> ConformalRun:
    """Two one-sided ACI processes (lower and upper tail, alpha/2 each) over ``scores`` in origin order.

    The outcome of origin i is known ``delay`` origins later, so the interval for origin i uses the
    scores of origins up to i - delay, and each tail's level moves by ACI_STEP * (alpha/2 - miss)
    once that outcome is known. Two tails, because errors are skewed (a stock can double, not halve
    twice).
    """
    n = len(scores)
    values = [float(v) for v in scores]
    lower, upper = [math.nan] * n, [math.nan] * n
    half = alpha / 2
    a_lo = a_hi = half
    known: list[float] = []  # the latest ACI_SCORES settled scores, sorted, slid one origin at a time
    for i in range(n + 1):
        settled = i - delay  # this origin's outcome becomes known now
        if settled >= 0:
            if not math.isnan(lower[settled]):
                a_lo += ACI_STEP * (half - (values[settled] < lower[settled]))
                a_hi += ACI_STEP * (half - (values[settled] > upper[settled]))
            bisect.insort(known, values[settled])
            if settled >= ACI_SCORES:
                del known[bisect.bisect_left(known, values[settled - ACI_SCORES])]
        if i == n:
            ordered = known if len(known) >= MIN_SCORES else sorted(values)
            return ConformalRun(
                np.array(lower), np.array(upper), _quantile(ordered, a_lo), _quantile(ordered, 1.0 - a_hi)
            )
        if len(known) >= MIN_SCORES:
            lower[i], upper[i] = _quantile(known, a_lo), _quantile(known, 1.0 - a_hi)
    raise AssertionError("unreachable")


def _quantile(ordered: Sequence[float], level: float) -> float:
    """np.quantile's linear interpolation on sorted values, without its per-call overhead (thousands
    of calls a forecast); the level is clipped to [0, 1]."""
    position = min(max(level, 0.0), 1.0) * (len(ordered) - 1)
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return float(ordered[below] + (ordered[above] - ordered[below]) * (position - below))


def interval_score(low: np.ndarray, high: np.ndarray, actual: np.ndarray, alpha: float) -> np.ndarray:
    """The interval (Winkler) score: width, plus 2/alpha times the distance by which it missed."""
    return (high - low) + (2 / alpha) * (np.maximum(low - actual, 0) + np.maximum(actual - high, 0))


def evaluate_bands(
    series: np.ndarray, origins: np.ndarray, paths: np.ndarray, volatility: np.ndarray, step: int
) -> tuple[dict[str, Any], dict[str, tuple[float, float]]]:
    """Coverage, mean width and interval score (in % of the price) of the model's conformal bands
    at ``step`` days ahead, beside a random-walk band, on every origin after the warm-up whose
    outcome is known; and the scaled quantiles for the next, unseen forecast at that step."""
    valid = origins + step < len(series)
    o = origins[valid]
    actual, predicted, last = series[o + step], np.maximum(paths[valid, step - 1], EPS), series[o]
    scores = np.log(actual / predicted) / volatility[o]
    figures: dict[str, Any] = {"step": step}
    finals: dict[str, tuple[float, float]] = {}
    counted = np.arange(len(o)) >= ACI_WARMUP
    for level, alpha in LEVELS.items():
        run = adaptive_conformal(scores, alpha, step)
        finals[level] = (run.final_lower, run.final_upper)
        use = counted & ~np.isnan(run.lower)
        low = predicted[use] * np.exp(run.lower[use] * volatility[o][use])
        high = predicted[use] * np.exp(run.upper[use] * volatility[o][use])
        spread = Z[level] * volatility[o][use] * math.sqrt(step)
        rw_low, rw_high = last[use] * np.exp(-spread), last[use] * np.exp(spread)
        y = actual[use]
        figures["evaluated"] = int(use.sum())
        if not use.any():
            continue
        figures[f"coverage_{level}"] = _r(np.mean((y >= low) & (y <= high)), 4)
        figures[f"width_{level}_pct"] = _r(np.mean((high - low) / y) * 100, 3)
        figures[f"winkler_{level}_pct"] = _r(np.mean(interval_score(low, high, y, alpha) / y) * 100, 3)
        comparator = figures.setdefault("random_walk", {})
        comparator[f"coverage_{level}"] = _r(np.mean((y >= rw_low) & (y <= rw_high)), 4)
        comparator[f"width_{level}_pct"] = _r(np.mean((rw_high - rw_low) / y) * 100, 3)
        comparator[f"winkler_{level}_pct"] = _r(np.mean(interval_score(rw_low, rw_high, y, alpha) / y) * 100, 3)
    return figures, finals


def moving_average(values: np.ndarray, n: int) -> list[float | None]:
    if len(values) < n:
        return [None] * len(values)
    csum = np.cumsum(np.insert(values, 0, 0.0))
    ma = (csum[n:] - csum[:-n]) / n
    return [None] * (n - 1) + [round(float(v), 4) for v in ma]


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
    request: ForecastRequest, dates: list[date], closes: list[float], model: LstmModel
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
    paths, future = every_path[:-1], every_path[-1]

    # One step ahead: the headline metrics, model beside the naive last value.
    last = series[origins]
    actual = series[origins + 1]
    model_metrics = metrics(actual, paths[:, 0], last)
    naive_metrics = metrics(actual, last, last, directional=False)

    # k steps ahead: adaptive conformal bands over the errors scaled by the volatility known at
    # each origin, measured as they would have been served.
    volatility = trailing_volatility(series)
    per_step, finals = [], []
    for k in range(1, horizon + 1):
        figures, final = evaluate_bands(series, origins, paths, volatility, k)
        per_step.append(figures)
        finals.append(final)
    counted = [f for f in per_step if f.get("evaluated")]
    total = sum(f["evaluated"] for f in counted)

    future_days = next_trading_days(dates[-1], horizon)
    scale = float(volatility[-1])
    forecast = [
        {"date": d.isoformat(), "close": round(float(p), 4), **_served_bands(p, final, scale)}
        for d, p, final in zip(future_days, future, finals, strict=True)
    ]
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
        "bands": {
            "method": (
                f"adaptive conformal inference over volatility-scaled errors (step {ACI_STEP}, the latest "
                f"{ACI_SCORES} known errors); evaluated on every test origin after the first {ACI_WARMUP}, each "
                "interval formed from earlier outcomes only"
            ),
            "comparator": "random walk: the last close times exp(+-z * volatility * sqrt(days ahead)), z normal",
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


def _served_bands(point: float, quantiles: dict[str, tuple[float, float]], scale: float) -> dict[str, float]:
    """The next forecast's bands from its scaled error quantiles. Each level runs its own ACI process,
    so in a rare stretch the 80% interval can poke out of the 95% one; a served 95% band holds the
    80% band, as a reader expects."""
    low_80, high_80 = (point * math.exp(q * scale) for q in quantiles["80"])
    low_95, high_95 = (point * math.exp(q * scale) for q in quantiles["95"])
    low_95, high_95 = min(low_95, low_80), max(high_95, high_80)
    return {
        "low_80": round(low_80, 4),
        "high_80": round(high_80, 4),
        "low_95": round(low_95, 4),
        "high_95": round(high_95, 4),
    }


def _r(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(float(value), digits)
