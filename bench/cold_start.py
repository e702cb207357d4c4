"""Cold start of every function: import-to-first-response of its handler in a fresh interpreter.

For each function, a new Python process imports functions/<name>/app.py and answers one
request (an API Gateway HTTP API event, or the job's scheduled event), median of 5 runs,
beside the same figure for a hello-world FastAPI+Mangum handler. Run: .venv/bin/python bench/cold_start.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5

# One cheap, representative request per HTTP function (method, path, body).
REQUESTS = {
    "register": ("POST", "/api/v1/register/", {"username": "x"}),
    "token": ("POST", "/api/v1/token/", {"username": "nobody", "password": "wrong-password"}),
    "account": ("GET", "/api/v1/protected-view/", None),
    "health": ("GET", "/api/v1/health/", None),
    "market": ("GET", "/api/v1/market/", None),
    "stocks": ("GET", "/api/v1/stocks/", None),
    "predict": ("POST", "/api/v1/predict/", {}),
    "alerts": ("GET", "/api/v1/alerts/", None),
    "trading": ("GET", "/api/v1/orders/", None),
}


def http_functions() -> list[str]:
    """The functions behind API Gateway (each needs a request above; the rest are scheduled jobs)."""
    from tickerwatch.local import JOBS_ONLY, SCHEDULED, function_names

    return [name for name in function_names() if name not in SCHEDULED and name not in JOBS_ONLY]


PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
import importlib.util
name, path, request = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
spec = importlib.util.spec_from_file_location("app", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
from tickerwatch.events import LocalContext, http_api_event, scheduled_event
if request:
    method, rpath, body = request
    event = http_api_event(method, rpath, body=None if body is None else json.dumps(body).encode())
else:
    event = scheduled_event(name)
result = module.handler(event, LocalContext(name))
elapsed = time.perf_counter() - t0
status = result.get("statusCode", "ok") if isinstance(result, dict) else "ok"
print(json.dumps({"ms": elapsed * 1000, "status": status}))
"""

HELLO = """
from fastapi import FastAPI
from mangum import Mangum

app = FastAPI()


@app.get("/hello/")
def hello():
    return {"hello": "world"}


handler = Mangum(app, lifespan="off")
"""


def measure(name: str, path: Path, request) -> tuple[float, object]:
    env = {
        **os.environ,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT / "bench"),
    }
    times, status = [], None
    for _ in range(RUNS):
        out = subprocess.run(
            [sys.executable, "-c", PROBE, name, str(path), json.dumps(request)],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
        )
        if out.returncode != 0:
            raise SystemExit(f"{name} failed:\n{out.stderr[-3000:]}")
        line = json.loads(out.stdout.strip().splitlines()[-1])
        times.append(line["ms"])
        status = line["status"]
    return statistics.median(times), status


# Its first response needs Secrets Manager (it rotates the signing key once a month).
NOT_MEASURED = {"rotate_jwt_secret"}


def main() -> None:
    from _common import bench_database, record

    from tickerwatch.local import function_names

    bench_database("tickerwatch_bench_cold")  # a fresh database, started once, outside the timings

    with tempfile.TemporaryDirectory() as tmp:
        hello = Path(tmp) / "hello.py"
        hello.write_text(HELLO)
        baseline, _ = measure("hello", hello, ("GET", "/hello/", None))
    print(f"cold start, import to first response, median of {RUNS} fresh interpreters")
    print(f"{'function':<18}{'median ms':>10}{'x hello':>9}  status")
    print(f"{'hello (FastAPI)':<18}{baseline:>10.0f}{1.0:>9.2f}  200")
    medians = {}
    unmeasured = set(http_functions()) - set(REQUESTS)
    if unmeasured:  # a scheduled event would reach its Mangum handler, which cannot tell what it is
        raise SystemExit(f"no request to cold-start {sorted(unmeasured)} with: add one to REQUESTS")
    for name in function_names():
        if name in NOT_MEASURED:
            continue
        request = REQUESTS.get(name)
        median, status = measure(name, ROOT / "functions" / name / "app.py", request)
        medians[f"{name}_ms"] = median
        print(f"{name:<18}{median:>10.0f}{median / baseline:>9.2f}  {status}")
    record("cold_start", hello_ms=baseline, **medians)


if __name__ == "__main__":
    main()
