"""Warm latency of POST /api/v1/predict/ through the Lambda handler: uncached and cached, 20+ each."""

from __future__ import annotations

import json
import time

from _common import bench_database, summary

N = 20


def main() -> None:
    bench_database()
    from tickerwatch.events import LocalContext, http_api_event
    from tickerwatch.local import load_function
    from tickerwatch.runtime import get_database

    register, token, predict = (load_function(n) for n in ("register", "token", "predict"))
    ctx = LocalContext("predict")

    def call(module, method, path, body, auth=None):
        headers = {"authorization": f"Bearer {auth}"} if auth else None
        reply = module.handler(http_api_event(method, path, body=json.dumps(body).encode(), headers=headers), ctx)
        assert reply["statusCode"] < 300, reply
        return json.loads(reply["body"])

    call(
        register,
        "POST",
        "/api/v1/register/",
        {"username": "bench", "email": "b@example.com", "password": "bench-pass-1"},
    )
    access = call(token, "POST", "/api/v1/token/", {"username": "bench", "password": "bench-pass-1"})["access"]
    request = {"ticker": "TSLA", "horizon": 5, "plots": True}
    call(predict, "POST", "/api/v1/predict/", request, access)  # backfill and warm everything once
    db = get_database()

    uncached, cached = [], []
    for _ in range(N):
        db.run(lambda conn: conn.execute("DELETE FROM prediction_results"))
        started = time.perf_counter()
        body = call(predict, "POST", "/api/v1/predict/", request, access)
        uncached.append(time.perf_counter() - started)
        assert body["cached"] is False
    for _ in range(N * 2):
        started = time.perf_counter()
        body = call(predict, "POST", "/api/v1/predict/", request, access)
        cached.append(time.perf_counter() - started)
        assert body["cached"] is True
    print("warm POST /api/v1/predict/ through the Lambda handler (TSLA, horizon 5, plots)")
    print(summary("uncached (inference + 4 plots)", uncached))
    print(summary("cached", cached))
    no_plots = []
    request = {"ticker": "TSLA", "horizon": 5, "plots": False}
    for _ in range(N):
        db.run(lambda conn: conn.execute("DELETE FROM prediction_results"))
        started = time.perf_counter()
        call(predict, "POST", "/api/v1/predict/", request, access)
        no_plots.append(time.perf_counter() - started)
    print(summary("uncached, plots: false", no_plots))
    print(f"speed-up cached vs uncached (median): {sorted(uncached)[N // 2] / sorted(cached)[N]:.0f}x")


if __name__ == "__main__":
    main()
