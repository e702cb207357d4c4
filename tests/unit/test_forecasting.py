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
    required_history,
)
from tickerwatch.model import DEFAULT_WEIGHTS, LstmModel

MODEL = LstmModel.load(DEFAULT_WEIGHTS)


def series(n: int, seed: int = 1) -> tuple[list[date], list[float]]:
    rng = np.random.default_rng(seed)
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    days = next_trading_days(date(2015, 1, 1), n)
    return days, closes.tolist()


def one_step_by_hand(closes: list[float], origin: int) -> float:
    """The model's next-day forecast at ``origin``, computed from that window alone."""
    window = np.array(closes[origin - MODEL.window + 1 : origin + 1])
    lo, hi = window.min(), window.max()
    scaled = ((window - lo) / (hi - lo))[None, :].astype(np.float32)
    return float(MODEL.predict(scaled)[0]) * (hi - lo) + lo


def test_each_forecast_is_scaled_by_its_own_window_only():
    # Given a series whose level triples two thirds of the way through (so the batch's range is
    # far wider than any early window's),
    days, closes = series(400, seed=5)
    closes = closes[:260] + [c * 3 for c in closes[260:]]
    # when forecasts are made for the whole test window in one batch,
    result = build_forecast(ForecastRequest("XYZ", 1), days, closes, MODEL)
    # then each one-step forecast equals the model applied to its own window scaled by its own
    # min and max, computed here one window at a time.
    predicted = result["series"]["test"]["predicted"]
    first_origin = len(closes) - 1 - len(predicted)
    for k in (0, 50, 100, len(predicted) - 1):
        assert predicted[k] == pytest.approx(one_step_by_hand(closes, first_origin + k), rel=1e-5)


def test_forecasts_do_not_change_when_later_prices_change():
    # Given two series equal up to day 300 and wildly different afterwards,
    days, closes = series(400, seed=2)
    changed = closes[:301] + [c * 5 for c in closes[301:]]
    # when both are forecast,
    a = build_forecast(ForecastRequest("XYZ", 1), days, closes, MODEL)["series"]["test"]
    b = build_forecast(ForecastRequest("XYZ", 1), days, changed, MODEL)["series"]["test"]
    # then every forecast made at or before day 300 (targets up to day 301) is identical.
    shared = [i for i, d in enumerate(a["dates"]) if d <= days[301].isoformat()]
    assert len(shared) > 100
    assert [a["predicted"][i] for i in shared] == [b["predicted"][i] for i in shared]


def test_naive_baseline_predicts_each_day_with_the_day_before():
    # Given a trending, noisy series (a one-day shift changes every error),
    days, closes = series(330, seed=9)
    closes = [c + 0.3 * i for i, c in enumerate(closes)]
    # when it is forecast,
    result = build_forecast(ForecastRequest("XYZ", 1), days, closes, MODEL)
    # then the baseline's metrics are those of "tomorrow = today" over exactly the test window's
    # targets, computed here independently.
    n = result["test_window"]["days"]
    targets = list(range(len(closes) - n, len(closes)))
    assert result["test_window"]["start"] == days[targets[0]].isoformat()
    errors = [closes[t - 1] - closes[t] for t in targets]
    rmse = (sum(e * e for e in errors) / n) ** 0.5
    mae = sum(abs(e) for e in errors) / n
    mape = sum(abs(e) / closes[t] for e, t in zip(errors, targets, strict=True)) / n * 100
    baseline = result["baseline"]
    assert baseline["rmse"] == pytest.approx(rmse, rel=1e-5)
    assert baseline["mae"] == pytest.approx(mae, rel=1e-5)
    assert baseline["mape"] == pytest.approx(mape, rel=1e-5)
    assert baseline["mse"] == pytest.approx(rmse**2, rel=1e-5)
    # and the model is scored on the same targets.
    assert result["series"]["test"]["actual"] == pytest.approx([closes[t] for t in targets], rel=1e-6)
    model_err = [p - closes[t] for p, t in zip(result["series"]["test"]["predicted"], targets, strict=True)]
    assert result["rmse"] == pytest.approx((sum(e * e for e in model_err) / n) ** 0.5, rel=1e-4)


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


def test_the_forecast_starts_from_the_latest_window():
    # The held-out windows and the latest one share a batch; the forecast is the latest one's.
    days, closes = series(400, seed=4)
    result = build_forecast(ForecastRequest("ABC", 3), days, closes, MODEL)
    assert result["forecast"][0]["model_close"] == pytest.approx(one_step_by_hand(closes, len(closes) - 1), abs=1e-3)
    assert result["series"]["test"]["predicted"][-1] == pytest.approx(
        one_step_by_hand(closes, len(closes) - 2), abs=1e-4
    )


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


def test_trailing_volatility_uses_only_past_returns_and_follows_a_new_regime():
    from tickerwatch.forecasting import trailing_volatility

    calm = np.exp(np.cumsum(np.r_[0.0, np.tile([0.01, -0.01], 60)]))
    wild = np.r_[calm, calm[-1] * np.exp(np.cumsum(np.tile([0.05, -0.05], 30)))]
    vol = trailing_volatility(wild)
    np.testing.assert_array_equal(vol[: len(calm)], trailing_volatility(calm))  # later turmoil does not leak back
    assert vol[len(calm) - 1] == pytest.approx(0.01, rel=0.01)
    assert vol[-1] == pytest.approx(0.05, rel=0.05)  # two months into the new regime
