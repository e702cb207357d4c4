"""Honest evaluation: no look-ahead in scaling, test window after training, baseline beside."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from tickerwatch.errors import Unprocessable
from tickerwatch.forecasting import (
    ForecastRequest,
    build_forecast,
    metrics,
    moving_average,
    next_trading_days,
    recursive_forecast,
    required_history,
)
from tickerwatch.model import DEFAULT_WEIGHTS, LstmModel

MODEL = LstmModel.load(DEFAULT_WEIGHTS)


def series(n: int, seed: int = 1) -> tuple[list[date], list[float]]:
    rng = np.random.default_rng(seed)
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    days = next_trading_days(date(2015, 1, 1), n)
    return days, closes.tolist()


def test_scaling_uses_no_future_data():
    # Given two series equal up to day t and different afterwards,
    _, closes = series(400)
    changed = closes[:300] + [c * 3 for c in closes[300:]]
    w = MODEL.window
    a = recursive_forecast(MODEL, np.array([closes[300 - w : 300]]), 1)
    b = recursive_forecast(MODEL, np.array([changed[300 - w : 300]]), 1)
    # then the forecast made at day t is identical.
    assert a[0, 0] == b[0, 0]


def test_test_window_lies_after_training_period():
    days, closes = series(600)
    train_end = days[450]
    model = LstmModel(
        MODEL.lstm, MODEL.dense, {**MODEL.meta, "trained_on": {"XYZ": {"train_end": train_end.isoformat()}}}
    )
    result = build_forecast(ForecastRequest("XYZ", 5), days, closes, model)
    assert date.fromisoformat(result["test_window"]["start"]) > train_end
    assert result["test_window"]["days"] == 599 - 450  # targets are days 451..599


def test_result_carries_baseline_and_ordered_bands():
    days, closes = series(500)
    result = build_forecast(ForecastRequest("ABC", 7), days, closes, MODEL)
    for key in ("mse", "rmse", "r2", "mae", "mape", "directional_accuracy"):
        assert result[key] is not None
        assert key in result["baseline"]
    assert result["baseline"]["directional_accuracy"] is None
    assert len(result["forecast"]) == 7
    for point in result["forecast"]:
        assert point["low_95"] <= point["low_80"] <= point["high_80"] <= point["high_95"]
        assert date.fromisoformat(point["date"]).weekday() < 5
    assert 0 <= result["interval_coverage"]["80"] <= 1
    assert result["as_of"] == days[-1].isoformat()


def test_too_little_history_says_how_much_is_needed():
    days, closes = series(50)
    with pytest.raises(Unprocessable, match=str(required_history(MODEL, 5))):
        build_forecast(ForecastRequest("ABC", 5), days, closes, MODEL)


def test_naive_metrics_by_hand():
    actual = np.array([10.0, 12.0, 11.0])
    last = np.array([9.0, 10.0, 12.0])
    m = metrics(actual, last, last, directional=False)
    assert m["mse"] == pytest.approx((1 + 4 + 1) / 3)
    assert m["mae"] == pytest.approx(4 / 3)
    assert m["mape"] == pytest.approx((1 / 10 + 2 / 12 + 1 / 11) / 3 * 100)
    predicted = np.array([9.5, 11.0, 11.5])  # up, up, down vs actual up, up, down
    assert metrics(actual, predicted, last)["directional_accuracy"] == 1.0


def test_trading_days_skip_weekends():
    friday = date(2024, 5, 3)
    assert next_trading_days(friday, 2) == [friday + timedelta(days=3), friday + timedelta(days=4)]


def test_moving_average():
    assert moving_average(np.array([1.0, 2, 3, 4]), 2) == [None, 1.5, 2.5, 3.5]


def test_trailing_volatility_uses_only_past_returns():
    from tickerwatch.forecasting import trailing_volatility

    calm = np.exp(np.cumsum(np.r_[0.0, np.tile([0.01, -0.01], 20)]))
    wild = np.r_[calm, calm[-1] * np.exp(np.cumsum(np.tile([0.05, -0.05], 10)))]
    vol = trailing_volatility(wild)
    assert vol[40] == pytest.approx(trailing_volatility(calm)[40])  # later turmoil does not leak back
    assert vol[60] == pytest.approx(0.05, rel=0.01)
    assert vol[30] == pytest.approx(0.01, rel=0.01)
