"""Warm latency of POST /api/v1/predict/ through the Lambda handler: uncached and cached, 20+ each."""

from __future__ import annotations

import json
import os
import statistics
import time

from _common import bench_database, record, summary

from tickerwatch.progress import Progress

os.environ["RATE_LIMIT_PREDICT_PER_USER"] = "0"  # 80 predictions a minute from one user are the point here

N = 30


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

    with_plots, without = request, {**request, "plots": False}
    uncached, no_plots, cached = [], [], []
    # Rounds alternate with and without plots, so a slow spell of the machine hits both alike.
    with Progress(N * 4, "predict") as bar:
        for _ in range(N):
            for body, times in ((with_plots, uncached), (without, no_plots)):
                db.run(lambda conn: conn.execute("DELETE FROM prediction_results"))
                started = time.perf_counter()
                answer = call(predict, "POST", "/api/v1/predict/", body, access)
                times.append(time.perf_counter() - started)
                assert answer["cached"] is False
                bar.advance()
        for _ in range(N * 2):
            started = time.perf_counter()
            answer = call(predict, "POST", "/api/v1/predict/", with_plots, access)
            cached.append(time.perf_counter() - started)
            assert answer["cached"] is True
            bar.advance()

    # Where an uncached request's time goes: the forecast and the plots alone, in process.
    from tickerwatch.data import prices
    from tickerwatch.forecasting import ForecastRequest, build_forecast
    from tickerwatch.plots import draw_plots
    from tickerwatch.runtime import get_forecasters

    dates, closes = db.run(lambda conn: prices.closes(conn, "TSLA"))
    forecasters = get_forecasters()  # loaded at init in Lambda: not part of a forecast's time
    forecasting, drawing = [], []
    for _ in range(N):
        started = time.perf_counter()
        result = build_forecast(ForecastRequest("TSLA", 5), dates, closes, forecasters.lstm, forecasters.direction)
        forecasting.append(time.perf_counter() - started)
        result = json.loads(json.dumps(result))  # as stored and read back
        started = time.perf_counter()
        draw_plots(result)
        drawing.append(time.perf_counter() - started)

    print("warm POST /api/v1/predict/ through the Lambda handler (TSLA, horizon 5)")
    print(summary("uncached, with the 4 plots", uncached))
    print(summary("uncached, plots: false", no_plots))
    print(summary("cached, with the 4 plots", cached))
    print(summary("  in process: the forecast", forecasting))
    print(summary("  in process: the 4 plots", drawing))
    ratio = statistics.median(uncached) / statistics.median(cached)
    print(f"speed-up cached vs uncached with plots (median): {ratio:.0f}x")
    record(
        "predict",
        uncached_ms=statistics.median(uncached) * 1000,
        uncached_no_plots_ms=statistics.median(no_plots) * 1000,
        cached_ms=statistics.median(cached) * 1000,
    )


if __name__ == "__main__":
    main()
