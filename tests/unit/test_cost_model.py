"""docs/scaling.md is the output of bench/cost_model.py on bench/results.json: it cannot drift."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_cost_model():
    spec = importlib.util.spec_from_file_location("cost_model", ROOT / "bench" / "cost_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_scaling_document_is_what_the_model_computes_from_the_latest_measurements():
    cost_model = load_cost_model()
    expected = cost_model.render(json.loads(cost_model.RESULTS.read_text()))
    assert expected in cost_model.DOC.read_text(), "run: .venv/bin/python bench/cost_model.py --write"


def test_a_new_measurement_changes_the_model():
    cost_model = load_cost_model()
    results = json.loads(cost_model.RESULTS.read_text())
    before = dict((what, value) for what, _, value in cost_model.model(results)[0])
    results["predict"]["uncached_ms"] *= 2
    after = dict((what, value) for what, _, value in cost_model.model(results)[0])
    assert after["predict, GB-s"] > before["predict, GB-s"]
    assert after["Total, USD a month"] > before["Total, USD a month"]
