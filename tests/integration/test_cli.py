"""The command line: predict prints the result and writes the plots; the jobs run from the shell."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def tickerwatch(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tickerwatch.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "POWERTOOLS_LOG_LEVEL": "WARNING"},
        timeout=300,
    )


def test_predict_prints_result_and_writes_pngs(db, tmp_path):
    result = tickerwatch("predict", "GOOG", "--horizon", "2", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    pngs = sorted(p.name for p in (tmp_path / "out").glob("*.png"))
    assert pngs == ["GOOG_plot_100_dma.png", "GOOG_plot_200_dma.png", "GOOG_plot_img.png", "GOOG_plot_prediction.png"]
    assert all((tmp_path / "out" / p).read_bytes()[:4] == b"\x89PNG" for p in pngs)
    printed = json.loads(result.stdout[result.stdout.index("{") :])
    assert printed["ticker"] == "GOOG" and len(printed["forecast"]) == 2 and "baseline" in printed
    saved = json.loads((tmp_path / "out" / "GOOG.json").read_text())
    assert saved["forecast"] == printed["forecast"] and "series" in saved


def test_jobs_from_the_shell(db, tmp_path):
    fetched = tickerwatch("fetch-prices", "TSLA", "--backfill", cwd=tmp_path)
    assert fetched.returncode == 0, fetched.stderr
    assert json.loads(fetched.stdout)["succeeded"] == ["TSLA"]
    evaluated = tickerwatch("evaluate-alerts", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr
    assert set(json.loads(evaluated.stdout)) >= {
        "evaluated",
        "triggered",
        "skipped_stale",
        "emails_sent",
        "emails_failed",
    }


def test_bad_setting_stops_the_command_naming_it(tmp_path):
    env = {**os.environ, "ACCESS_TOKEN_TTL_SECONDS": "soon"}
    result = subprocess.run(
        [sys.executable, "-m", "tickerwatch.cli", "migrate"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 2
    assert "ACCESS_TOKEN_TTL_SECONDS" in result.stderr
