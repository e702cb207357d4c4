"""The test harness's own rules: what the mutation runner takes as already proven green."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "mutants")]

from run import baseline_targets, shares_by_cost  # noqa: E402
from timing import passed_tests  # noqa: E402

REPORT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">
<testcase classname="tests.unit.test_skill" name="test_passes" time="0.1" />
<testcase classname="tests.unit.test_skill" name="test_fails[a-b]" time="0.1"><failure message="x" /></testcase>
<testcase classname="tests.unit.test_skill" name="test_skipped" time="0.0"><skipped message="y" /></testcase>
<testcase classname="tests.unit.test_bands" name="test_errors_in_teardown" time="0.1" />
<testcase classname="tests.unit.test_bands" name="test_errors_in_teardown" time="0.1"><error message="z" /></testcase>
<testcase classname="tests.unit.test_bands" name="test_reported_error_first" time="0.1"><error message="z" /></testcase>
<testcase classname="tests.unit.test_bands" name="test_reported_error_first" time="0.1" />
<testcase classname="tests.unit.test_bands" name="test_ok" time="0.1" />
</testsuite></testsuites>"""


def test_a_report_shows_passing_only_tests_with_no_failure_error_or_skip_in_any_phase(tmp_path):
    report = tmp_path / "junit.xml"
    report.write_text(REPORT)
    assert passed_tests(report) == {"tests/unit/test_skill.py::test_passes", "tests/unit/test_bands.py::test_ok"}


def test_the_baseline_runs_what_the_report_does_not_show_and_the_cheapest_killer_of_each_file():
    killers = {
        "a": {"test": "tests/unit/test_skill.py::test_slow", "seconds": 3.0},
        "b": {"test": "tests/unit/test_skill.py::test_quick", "seconds": 1.0},
        "c": {"test": "tests/unit/test_skill.py::test_quick", "seconds": 1.0},
        "d": {"test": "tests/unit/test_bands.py::test_unreported", "seconds": 9.0},
        "e": {"test": "tests/unit/test_bands.py::test_reported", "seconds": 0.5},
        "f": {"test": "tests/unit/test_plots.py::test_not_selected", "seconds": 0.1},
    }
    recorded = {v["test"] for k, v in killers.items() if k != "f"}
    green = {
        "tests/unit/test_skill.py::test_slow",
        "tests/unit/test_skill.py::test_quick",
        "tests/unit/test_bands.py::test_reported",
    }
    assert baseline_targets(killers, recorded, green) == [
        "tests/unit/test_bands.py::test_reported",
        "tests/unit/test_bands.py::test_unreported",
        "tests/unit/test_skill.py::test_quick",
    ]


def test_the_baseline_deals_the_dearest_tests_first_to_the_least_loaded_worker():
    costs = {"e2e::browser": 12.0, "a::one": 1.0, "b::two": 1.0, "c::three": 1.0, "d::four": 1.0}
    shares = shares_by_cost(sorted(costs), costs, 2)
    assert sorted(shares, key=len) == [["e2e::browser"], ["a::one", "b::two", "c::three", "d::four"]]
    assert sorted(t for share in shares_by_cost(sorted(costs), {}, 3) for t in share) == sorted(costs)  # none lost
