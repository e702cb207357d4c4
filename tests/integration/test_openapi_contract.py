"""The OpenAPI document tells the truth: schemathesis (every check, stateful phase, fixed seed)
against the running local server, with and without a token, finds nothing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from apigw import LocalServer

ROOT = Path(__file__).resolve().parents[2]
REPORTS = ROOT / ".schemathesis"
UNTHROTTLED = {
    name: "0"
    for name in (
        "RATE_LIMIT_LOGIN_PER_USERNAME",
        "RATE_LIMIT_LOGIN_PER_ADDRESS",
        "RATE_LIMIT_REFRESH_PER_ADDRESS",
        "RATE_LIMIT_REGISTER_PER_ADDRESS",
        "RATE_LIMIT_PREDICT_PER_USER",
        "RATE_LIMIT_ALERT_WRITES_PER_USER",
    )
}


@pytest.fixture
def contract_server(db):
    # Limits off: thousands of generated requests would otherwise be mostly 429s (documented, but
    # they would hide everything behind them).
    # Test deliveries to generated public addresses cannot connect from here; they fail fast.
    env = {**UNTHROTTLED, "POWERTOOLS_LOG_LEVEL": "WARNING", "TICKERWATCH_WEBHOOK_TIMEOUT_SECONDS": "1"}
    server = LocalServer("--no-jobs", env=env).wait_ready()
    yield server
    server.stop()


def schemathesis(server: LocalServer, name: str, *extra: str) -> subprocess.CompletedProcess:
    executable = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert executable, "schemathesis is not installed (it is in the dev extra)"
    return subprocess.run(
        [
            executable,
            "--config-file",
            str(ROOT / "tests" / "contract" / "schemathesis.toml"),
            "run",
            f"{server.url}/openapi.json",
            "--checks",
            "all",
            "--no-color",
            "--report",
            "junit",
            "--report-dir",
            str(REPORTS / name),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )


# Without a token: every public operation, and one protected operation of each method. The others
# answer an anonymous caller from the same place once the route matches, before the body or the query
# is read (a 401, documented on each; the run with a token checks with its ignored_auth check that each
# refuses a caller without one), so generating each one's cases again told nothing new (that run took
# 42 s of the suite's test time; now 19-36 s, 16 s alone).
PROTECTED_SAMPLES = (
    "GET /api/v1/me/",
    "POST /api/v1/alerts/",
    "PATCH /api/v1/alerts/{alert_id}/",
    "DELETE /api/v1/webhooks/{webhook_id}/",
)


def anonymous_operations(http: httpx.Client) -> list[str]:
    document = http.get("/openapi.json").json()
    names = [
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if not operation.get("security")
    ]
    assert len(names) >= 8, names  # register, token, refresh, logout, health, stocks, prices, market
    return [option for name in (*names, *PROTECTED_SAMPLES) for option in ("--include-name", name)]


# Two tests, so that two pytest-xdist workers can run them side by side (each is about a minute).
@pytest.mark.parametrize("caller", ["with-token", "anonymous"])
def test_schemathesis_finds_no_failure(contract_server, caller):
    http = httpx.Client(base_url=contract_server.url, timeout=60)
    account = {"username": "contract", "email": "contract@example.com", "password": "correct-horse-9"}
    assert http.post("/api/v1/register/", json=account).status_code == 201
    token = http.post("/api/v1/token/", json={"username": "contract", "password": "correct-horse-9"}).json()["access"]
    auth = {"Authorization": f"Bearer {token}"}
    assert http.post("/api/v1/stocks/", json={"symbol": "GOOG"}, headers=auth).status_code == 201  # the examples' stock

    # Every link in the document leads from a created resource, and an anonymous caller creates none:
    # its stateful phase could only repeat the first calls the other phases make (11 s of 38).
    anonymous = ("--phases", "examples,coverage,fuzzing", *anonymous_operations(http))
    extra = ("-H", f"Authorization: Bearer {token}") if caller == "with-token" else anonymous
    run = schemathesis(contract_server, caller, *extra)
    summary = run.stdout[-3000:]
    assert run.returncode == 0, summary + run.stderr[-2000:]
    assert "No issues found" in summary or " passed" in summary, summary
    assert "failure" not in summary.splitlines()[-1], summary
