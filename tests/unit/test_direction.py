"""The direction model: indicators from the past only, numpy evaluation equal to scikit-learn's, an
accuracy measured where it is honest, and the leaky evaluations that flatter it, on record."""

from __future__ import annotations

import numpy as np
import pytest

from tickerwatch.direction import (
    DEFAULT_DIRECTION_WEIGHTS,
    FEATURES,
    WARMUP_DAYS,
    DirectionModel,
    direction_summary,
    indicators,
    next_day_up,
)


def walk(n: int, seed: int = 1, sigma: float = 0.02) -> np.ndarray:
    return 100 * np.exp(np.cumsum(np.random.default_rng(seed).normal(0, sigma, n)))


def test_each_days_indicators_use_closes_up_to_that_day_only():
    closes = walk(400)
    changed = closes.copy()
    changed[300:] *= np.linspace(1, 4, 100)  # the future changes
    a, b = indicators(closes), indicators(changed)
    assert a.shape == (400, len(FEATURES)) == (400, 13)
    np.testing.assert_array_equal(a[:300], b[:300])
    assert not np.allclose(a[300:], b[300:])
    assert np.isnan(a[:WARMUP_DAYS]).all() and not np.isnan(a[WARMUP_DAYS:]).any()


def test_indicators_by_hand():
    closes = walk(120, seed=3)
    row = indicators(closes)[100]
    by_name = dict(zip(FEATURES, row, strict=True))
    assert by_name["return_5d"] == pytest.approx(np.log(closes[100] / closes[95]))
    assert by_name["sma_5_over_20"] == pytest.approx(closes[96:101].mean() / closes[81:101].mean() - 1)
    assert by_name["close_over_sma_50"] == pytest.approx(closes[100] / closes[51:101].mean() - 1)
    window = closes[87:101]
    assert by_name["stochastic_14"] == pytest.approx((closes[100] - window.min()) / (window.max() - window.min()))
    sd = closes[81:101].std()
    assert by_name["bollinger_position"] == pytest.approx((closes[100] - (closes[81:101].mean() - 2 * sd)) / (4 * sd))
    assert 0 <= by_name["rsi_14"] <= 1


def test_the_label_is_whether_the_next_close_is_higher():
    np.testing.assert_array_equal(next_day_up(np.array([1.0, 2.0, 2.0, 1.0]))[:3], [1.0, 0.0, 0.0])
    assert np.isnan(next_day_up(np.array([1.0, 2.0]))[-1])


def test_numpy_evaluation_equals_scikit_learns_on_the_same_inputs():
    from tickerwatch.direction_training import export, forest, rows_of

    rows = rows_of(walk(900, seed=5))
    fitted = forest(trees=40).fit(rows.features[: rows.split], rows.labels[: rows.split])
    model = export(fitted, {})
    # every split threshold itself as an input too: exactly at a threshold goes left, as in scikit-learn
    at_thresholds = np.repeat(rows.features[:50], 1, axis=0).copy()
    tree = fitted.estimators_[0].tree_
    splits = np.nonzero(tree.children_left >= 0)[0][:50]
    at_thresholds[np.arange(len(splits)), tree.feature[splits]] = tree.threshold[splits]
    inputs = np.concatenate([rows.features, at_thresholds])
    np.testing.assert_allclose(model.probability_up(inputs), fitted.predict_proba(inputs)[:, 1], rtol=0, atol=1e-12)


def test_a_value_exactly_at_a_threshold_goes_left_as_in_scikit_learn():
    # Whole-number features split at x.5, which float32 holds exactly: inputs right on the splits.
    from tickerwatch.direction_training import export, forest

    rng = np.random.default_rng(3)
    x = rng.integers(0, 6, size=(600, len(FEATURES))).astype(np.float64)
    y = ((x[:, 0] + x[:, 1] + rng.normal(0, 1.5, 600)) > 5).astype(np.float64)
    fitted = forest(trees=10, min_leaf=5).fit(x, y)
    halves = rng.integers(0, 5, size=(200, len(FEATURES))) + 0.5
    np.testing.assert_allclose(
        export(fitted, {}).probability_up(halves), fitted.predict_proba(halves)[:, 1], atol=1e-12
    )


def test_the_export_survives_a_save_and_load(tmp_path):
    from tickerwatch.direction_training import export, forest, rows_of

    rows = rows_of(walk(600, seed=6))
    model = export(forest(trees=20).fit(rows.features, rows.labels), {"name": "t"})
    model.save(tmp_path / "d.npz")
    loaded = DirectionModel.load(tmp_path / "d.npz")
    np.testing.assert_array_equal(loaded.probability_up(rows.features), model.probability_up(rows.features))
    assert loaded.version == model.version and loaded.version.startswith("1.")


def test_the_shipped_model_loads_and_uses_the_13_indicators():
    model = DirectionModel.load(DEFAULT_DIRECTION_WEIGHTS)
    assert model.meta["features"] == list(FEATURES)
    assert set(model.meta["trained_on"]) == {"TSLA", "GOOG"}
    p = model.probability_up(indicators(walk(300))[WARMUP_DAYS:])
    assert ((p >= 0) & (p <= 1)).all()


def falling(n: int) -> np.ndarray:
    return 100 * np.exp(np.cumsum(np.random.default_rng(4).normal(-0.004, 0.01, n)))


@pytest.mark.parametrize("closes", [walk(500, seed=9), falling(500)], ids=["walk", "falling"])
def test_the_served_accuracy_is_measured_on_the_held_out_days_beside_the_majority_call(closes):
    model = DirectionModel.load(DEFAULT_DIRECTION_WEIGHTS)
    origins = np.arange(300, 499)
    summary = direction_summary(model, closes, origins, "2020-01-01")
    called_up = model.probability_up(indicators(closes)[origins]) > 0.5
    went_up = closes[origins + 1] > closes[origins]
    assert (went_up.mean() < 0.5) == (closes[-1] < closes[0])  # the falling stock's majority is down
    assert summary["held_out_accuracy"] == pytest.approx(np.mean(called_up == went_up), abs=1e-4)
    assert summary["majority_baseline"] == pytest.approx(max(np.mean(went_up), 1 - np.mean(went_up)), abs=1e-4)
    assert summary["evaluated"] == len(origins)
    latest = model.probability_up(indicators(closes)[-1:])[0]
    assert summary["probability_up"] == pytest.approx(latest, abs=1e-4)
    assert summary["call"] == ("up" if latest > 0.5 else "down")
    beaten = summary["held_out_accuracy"] > summary["majority_baseline"]
    assert summary["summary"].startswith("Right on" if beaten else "No demonstrated edge")


def test_on_a_random_walk_only_the_leaky_evaluations_beat_a_coin():
    """No model can call a random walk's next move better than 50%: the walk-forward evaluation says
    so, while a random split with overlapping 10-day labels and indicators that reach 5 days past
    their day score well above it (the way a "75-85% accuracy" is made)."""
    from tickerwatch.direction_training import leakage_study

    series = {"A": walk(1500, seed=21), "B": walk(1500, seed=22)}
    study = leakage_study(series, deep=True, trees=40)
    assert abs(study["walk_forward"]["accuracy"] - 0.5) <= 0.05, study
    assert abs(study["random_split"]["accuracy"] - 0.5) <= 0.05, study  # next-day labels do not overlap
    assert study["random_split_multi_day_labels"]["accuracy"] >= 0.58, study
    assert study["look_ahead_indicators"]["accuracy"] >= 0.60, study


def test_a_new_direction_model_makes_stored_forecasts_stale():
    from tickerwatch.forecasting import Forecasters
    from tickerwatch.model import DEFAULT_WEIGHTS, LstmModel

    lstm = LstmModel.load(DEFAULT_WEIGHTS)
    shipped = DirectionModel.load(DEFAULT_DIRECTION_WEIGHTS)
    other = DirectionModel(
        shipped.feature, shipped.threshold, shipped.left, shipped.right, shipped.up, {"version": "9"}
    )
    versions = {Forecasters(lstm, shipped).version, Forecasters(lstm, other).version, Forecasters(lstm).version}
    assert len(versions) == 3  # the cache key changes with either model
    assert all(v.startswith(lstm.version) for v in versions)
