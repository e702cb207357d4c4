"""Forecasts with honest evaluation: pure functions over a close series and a model.

- Every window is min-max scaled by its own values only, so no input sees the future.
- The test window lies strictly after the model's training period for that ticker.
- The naive last-value baseline is always computed beside the model.
- Bands come from the empirical distribution of held-out errors at each step ahead, in units
  of the volatility known at the time (20-day), calibrated on the earlier half of the test
  window; coverage is measured on the later half.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from tickerwatch.errors import Unprocessable
from tickerwatch.model import LstmModel

# Part of the cache key beside the model version: bump it whenever a change here would change a
# result, or cached forecasts computed the old way keep being served.
METHOD_VERSION = "2"
MAX_TEST_DAYS = 250
MIN_TEST_DAYS = 30
VOLATILITY_DAYS = 20
EPS = 1e-9


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


def trailing_volatility(series: np.ndarray, days: int = VOLATILITY_DAYS) -> np.ndarray:
    """Per index t: the standard deviation of the ``days`` daily log returns ending at t (only data
    known at t). Errors scaled by it are comparable between calm and wild periods."""
    returns = np.diff(np.log(np.maximum(series, EPS)))
    out = np.full(len(series), np.nan)
    if len(returns) >= days:
        windows = np.lib.stride_tricks.sliding_window_view(returns, days)
        out[days:] = windows.std(axis=1)
    return np.maximum(np.nan_to_num(out, nan=np.nanmean(out) if np.isfinite(out).any() else 0.0), 1e-6)


def next_trading_days(after: date, count: int) -> list[date]:
    """Weekdays after ``after`` (exchange holidays are not modelled)."""
    days, day = [], after
    while len(days) < count:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days.append(day)
    return days


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

    windows = np.lib.stride_tricks.sliding_window_view(series, window)[origins - window + 1]
    paths = recursive_forecast(model, windows, horizon)

    # One step ahead: the headline metrics, model beside the naive last value.
    last = series[origins]
    actual = series[origins + 1]
    model_metrics = metrics(actual, paths[:, 0], last)
    naive_metrics = metrics(actual, last, last, directional=False)

    # k steps ahead: log errors in units of the volatility known at each origin, calibrated on
    # the earlier half of the test window, coverage measured on the later half.
    volatility = trailing_volatility(series)
    bands, coverage_hits, coverage_n = [], {"80": 0, "95": 0}, 0
    for k in range(horizon):
        valid = origins + k + 1 < len(series)
        log_err = np.log(series[origins[valid] + k + 1] / np.maximum(paths[valid, k], EPS))
        scaled = log_err / volatility[origins[valid]]
        half = max(len(scaled) // 2, 1)
        calib, check = scaled[:half], scaled[half:]
        q = np.quantile(calib, [0.025, 0.10, 0.90, 0.975])
        bands.append(q * volatility[-1])
        coverage_hits["80"] += int(np.sum((check >= q[1]) & (check <= q[2])))
        coverage_hits["95"] += int(np.sum((check >= q[0]) & (check <= q[3])))
        coverage_n += len(check)

    future = recursive_forecast(model, series[-window:][None, :], horizon)[0]
    future_days = next_trading_days(dates[-1], horizon)
    forecast = [
        {
            "date": d.isoformat(),
            "close": round(float(p), 4),
            "low_80": round(float(p * math.exp(q[1])), 4),
            "high_80": round(float(p * math.exp(q[2])), 4),
            "low_95": round(float(p * math.exp(q[0])), 4),
            "high_95": round(float(p * math.exp(q[3])), 4),
        }
        for d, p, q in zip(future_days, future, bands, strict=True)
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
            "80": _r(coverage_hits["80"] / coverage_n) if coverage_n else None,
            "95": _r(coverage_hits["95"] / coverage_n) if coverage_n else None,
            "evaluated_points": coverage_n,
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


def _r(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(float(value), digits)
