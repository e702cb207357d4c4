"""Skill against the random walk and the Diebold-Mariano test, checked against an independent
computation (scipy, explicit sums) and against what the words say."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest

from tickerwatch.forecasting import ForecastRequest, build_forecast, next_trading_days
from tickerwatch.model import DEFAULT_WEIGHTS, LstmModel
from tickerwatch.skill import DieboldMariano, diebold_mariano, skill, verdict


def dm_by_the_book(e1: np.ndarray, e2: np.ndarray, h: int) -> tuple[float, float]:
    """Diebold and Mariano (1995) with Harvey, Leybourne and Newbold's (1997) correction, written out
    term by term; the p-value from scipy's normal distribution."""
    from scipy import stats

    d = [a * a - b * b for a, b in zip(e1, e2, strict=True)]
    n = len(d)
    mean = sum(d) / n

    def gamma(k: int) -> float:
        return sum((d[t] - mean) * (d[t - k] - mean) for t in range(k, n)) / n

    long_run = gamma(0) + 2 * sum(gamma(k) for k in range(1, h))
    dm = mean / math.sqrt(long_run / n)
    hln = dm * math.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    return hln, 2 * stats.norm.sf(abs(hln))


@pytest.mark.parametrize("horizon", [1, 3, 10])
def test_diebold_mariano_matches_an_independent_computation(horizon):
    rng = np.random.default_rng(horizon)
    n = 240
    shared = rng.normal(size=n + horizon)
    # overlapping h-day errors: each a sum of h daily shocks, so neighbours are correlated
    e_walk = np.convolve(shared, np.ones(horizon), "valid")[:n]
    e_model = e_walk * 0.97 + rng.normal(scale=0.4, size=n)
    statistic, p_value = dm_by_the_book(e_model, e_walk, horizon)
    ours = diebold_mariano(e_model**2, e_walk**2, horizon)
    assert ours.statistic == pytest.approx(statistic, rel=1e-9)
    assert ours.p_value == pytest.approx(p_value, rel=1e-9)


def test_a_forecast_clearly_better_is_significant_and_one_no_better_is_not():
    rng = np.random.default_rng(4)
    truth = rng.normal(size=300)
    walk_errors = truth
    better = diebold_mariano((0.5 * truth) ** 2, walk_errors**2)
    assert better.statistic < 0 and better.p_value < 0.001
    same_quality = diebold_mariano(rng.normal(size=300) ** 2, walk_errors**2)
    assert same_quality.p_value > 0.05
    identical = diebold_mariano(walk_errors**2, walk_errors**2)
    assert identical == DieboldMariano(None, None)  # no difference at all: no test to run


def test_skill_is_one_minus_the_loss_ratio():
    assert skill(0.8, 1.0) == pytest.approx(0.2)
    assert skill(1.25, 1.0) == pytest.approx(-0.25)
    assert skill(1.0, 0.0) is None


@pytest.mark.parametrize(
    ("point", "p_value", "demonstrated"),
    [(0.10, 0.01, True), (0.10, 0.05, False), (0.10, 0.30, False), (-0.02, 0.01, False), (0.0, 0.01, False)],
)
def test_the_verdict_demands_positive_and_significant_skill(point, p_value, demonstrated):
    shown, words = verdict(point, DieboldMariano(-2.0, p_value), {"80": -0.01})
    assert shown is demonstrated
    assert words.startswith("Demonstrated skill" if demonstrated else "No demonstrated skill")
    assert f"p = {p_value:.2f}" in words
    assert "1.0% worse than the random walk's" in words


def test_a_forecast_carries_its_skill_computed_on_its_own_test_window():
    days = next_trading_days(date(2015, 1, 1), 420)
    closes = list(100 * np.exp(np.cumsum(np.random.default_rng(12).normal(0, 0.012, 420))))
    result = build_forecast(ForecastRequest("ABC", 3), days, closes, LstmModel.load(DEFAULT_WEIGHTS))
    point = result["skill"]["point"]
    assert point["value"] == pytest.approx(1 - result["mse"] / result["baseline"]["mse"], abs=1e-5)
    test = result["series"]["test"]
    actual, predicted = np.array(test["actual"]), np.array(test["predicted"])
    last = np.array(closes[-len(actual) - 1 : -1])
    expected = diebold_mariano((predicted - actual) ** 2, (last - actual) ** 2)
    assert point["p_value"] == pytest.approx(expected.p_value, abs=1e-4)
    assert point["evaluated"] == result["test_window"]["days"]
    per_step = result["bands"]["per_step"]
    served = sum(f["winkler_80_pct"] * f["evaluated"] for f in per_step)
    walk = sum(f["random_walk"]["winkler_80_pct"] * f["evaluated"] for f in per_step)
    assert result["skill"]["band"]["80"] == pytest.approx(1 - served / walk, abs=1e-4)
    assert result["skill"]["summary"].startswith(
        "Demonstrated skill" if result["skill"]["demonstrated"] else "No demonstrated skill"
    )
