"""Capacity and monthly cost of one deployment, recomputed from the latest benchmark figures.

Reads bench/results.json (each benchmark records its headline figures there) and prints the model in
docs/scaling.md's words; `--write` replaces the generated part of docs/scaling.md, and a test checks that
the document equals this script's output, so the document cannot drift from the measurements.

Every figure is one of three kinds, and each line says which: measured (from results.json), a usage
assumption (ASSUMED below: change them to your traffic), or a list price (PRICES, us-east-1, as of
2026-11; check them before relying on a total).
"""

from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
DOC = ROOT / "docs" / "scaling.md"
START, END = "<!-- cost-model:start -->", "<!-- cost-model:end -->"

DEPLOYMENT = {"users": 100_000, "alerts": 1_000_000, "tickers": 5_000}

ASSUMED = {
    "active_share": 0.20,  # users active on a given day
    "logins_per_active_day": 1,
    "refreshes_per_active_day": 4,  # access tokens live 15 minutes
    "reads_per_active_day": 30,  # alert lists, stocks, account, history
    "predictions_per_active_day": 2,
    "alert_writes_per_active_day": 1,
    # distinct (ticker, horizon) asked for after each new trading day; the rest hit the cache
    "forecasts_computed_per_day": 3_000,
    "plot_bytes_per_forecast": 250_000,  # four PNGs, base64, stored beside the forecast
    "fires_per_alert_per_day": 0.01,  # 1% of alerts fire on a day: 10,000 emails
    "peak_to_average": 5,  # traffic in the busiest minute vs the month's average
    "provider_seconds_per_fetch": 20.0,  # the download of every ticker's quote: NOT measured (no network here)
    # fetch_prices each minute of a session, 09:30-16:00 (391 fetches that bring prices) on 21 trading days;
    # the schedule invokes it on ~22 weekdays to 16:05 (396 minutes), holidays and the last minutes exit at once
    "fetches_with_new_prices_per_month": 391 * 21,
    "fetch_invocations_per_month": 396 * 22,
    "snapstart_restores_per_month": 100_000,
    "postgres_query_ms": 1.0,  # one round trip from Lambda to Postgres in the same region
    # Measured by /proc under the load bench's mix with prepared statements, 0.19-0.44 ms a request over the
    # machine's fast and slow hours of 2026-11-24 (docs/benchmarks.md); not in results.json.
    "postgres_cpu_ms_per_read": 0.3,
    "days_per_month": 30,
}

PRICES = {  # USD, us-east-1, list prices as of 2026-11
    "lambda_gb_second_arm": 0.0000133334,
    "lambda_request": 0.20 / 1e6,
    "http_api_request": 1.00 / 1e6,
    "ses_message": 0.10 / 1000,
    "snapstart_cache_gb_second": 0.0000015046,
    "snapstart_restore_gb": 0.0001397998,
    "neon_compute_cu_hour": 0.14,
    "neon_storage_gb_month": 0.35,
}

MEMORY_MB = {"api": 512, "predict": 1769, "evaluate_alerts": 1024, "fetch_prices": 1024}
FULL_VCPU_MB = 1769  # Lambda gives one vCPU at 1,769 MB; less memory, proportionally less CPU
SECONDS_PER_MONTH = 30 * 24 * 3600
SNAPSTART_FUNCTIONS_MB = [512] * 5 + [1769, 256]  # stocks, alerts, register, token, account; predict; health


def model(results: dict) -> tuple[list[tuple[str, str, float]], dict]:
    """Rows of (what, arithmetic, value) and the totals the growth section uses."""
    d, a, p = DEPLOYMENT, ASSUMED, PRICES
    rows: list[tuple[str, str, float]] = []

    def row(what: str, arithmetic: str, value: float) -> float:
        rows.append((what, arithmetic, value))
        return value

    days = a["days_per_month"]
    active = d["users"] * a["active_share"]
    load, cold, pred, ev, fetch = (
        results[k] for k in ("load", "cold_start", "predict", "evaluate_alerts", "fetch_prices")
    )
    cpu_ms_per_read = load["cores"] * 1000 / load["saturated_reads_per_second"]
    slowdown = FULL_VCPU_MB / MEMORY_MB["api"]
    read_ms = row(
        "API read, billed ms at 512 MB",
        f"{load['cores']} cores x 1000 / {load['saturated_reads_per_second']:.0f} reads/s (measured, whole machine)"
        f" x {slowdown:.2f} (1,769/512 MB of CPU) + {a['postgres_query_ms']} ms to Postgres",
        math.ceil(cpu_ms_per_read * slowdown + a["postgres_query_ms"]),
    )
    argon2_ms = cold["token_ms"] - cold["account_ms"]
    login_ms = row(
        "login, billed ms at 512 MB",
        f"argon2: token {cold['token_ms']:.0f} - account {cold['account_ms']:.0f} ms cold start (measured)"
        f" x {slowdown:.2f} + a read",
        math.ceil(argon2_ms * slowdown + read_ms),
    )
    logins = active * a["logins_per_active_day"] * days
    refreshes = active * a["refreshes_per_active_day"] * days
    reads = active * (a["reads_per_active_day"] + a["alert_writes_per_active_day"]) * days
    predictions = active * a["predictions_per_active_day"] * days
    computed = min(predictions, a["forecasts_computed_per_day"] * days)
    requests = row(
        "API requests a month",
        f"{active:,.0f} active users x ({a['logins_per_active_day']} + {a['refreshes_per_active_day']} + "
        f"{a['reads_per_active_day']} + {a['alert_writes_per_active_day']} + {a['predictions_per_active_day']})"
        f" x {days}",
        logins + refreshes + reads + predictions,
    )
    api_gb_s = row(
        "API functions, GB-s",
        f"({logins:,.0f} logins x {login_ms:.0f} ms + {refreshes + reads:,.0f} reads and refreshes x {read_ms:.0f} ms)"
        " x 0.5 GB",
        (logins * login_ms + (refreshes + reads) * read_ms) / 1000 * 0.5,
    )
    predict_gb_s = row(
        "predict, GB-s",
        f"({computed:,.0f} computed x {pred['uncached_ms']:.0f} ms + {predictions - computed:,.0f} cached x"
        f" {pred['cached_ms']:.1f} ms, measured) x 1.769 GB",
        (computed * pred["uncached_ms"] + (predictions - computed) * pred["cached_ms"]) / 1000 * 1.769,
    )
    scheduled_runs = days * 24 * 12
    alert_events = active * a["alert_writes_per_active_day"] * days
    changed_runs = a["fetches_with_new_prices_per_month"]
    changed_seconds = ev["changed_run_seconds"] * d["alerts"] / ev["alerts"]
    emails = row(
        "emails (SES messages) a month",
        f"{d['alerts']:,} alerts x {a['fires_per_alert_per_day']} fires a day x {days}",
        d["alerts"] * a["fires_per_alert_per_day"] * days,
    )
    evaluate_gb_s = row(
        "process_prices, GB-s",
        f"({scheduled_runs + alert_events:,.0f} quiet runs x {ev['quiet_run_ms']:.1f} ms + {changed_runs} runs after"
        f" prices moved x {changed_seconds:.2f} s + {emails:,.0f} emails / {ev['emails_per_second']:.0f} a second,"
        " measured) x 1 GB",
        ((scheduled_runs + alert_events) * ev["quiet_run_ms"] / 1000 + changed_runs * changed_seconds)
        + emails / ev["emails_per_second"],
    )
    fetch_runs = a["fetch_invocations_per_month"]
    fetch_seconds = fetch["scheduled_run_500_tickers_ms"] / 1000 * d["tickers"] / 500 + a["provider_seconds_per_fetch"]
    fetch_gb_s = row(
        "fetch_prices, GB-s",
        f"{fetch_runs:,} runs x ({fetch['scheduled_run_500_tickers_ms']:.0f} ms per 500 tickers (measured) x"
        f" {d['tickers'] // 500} + {a['provider_seconds_per_fetch']:.0f} s download (assumed)) x 1 GB",
        fetch_runs * fetch_seconds,
    )
    invocations = requests + scheduled_runs + alert_events + changed_runs + fetch_runs
    gb_s = api_gb_s + predict_gb_s + evaluate_gb_s + fetch_gb_s
    lambda_cost = row(
        "Lambda, USD a month",
        f"{gb_s:,.0f} GB-s x ${p['lambda_gb_second_arm']} + {invocations:,.0f} invocations x $0.20/M",
        gb_s * p["lambda_gb_second_arm"] + invocations * p["lambda_request"],
    )
    snap_cache = sum(SNAPSTART_FUNCTIONS_MB) / 1024 * SECONDS_PER_MONTH * p["snapstart_cache_gb_second"]
    snap_restore = a["snapstart_restores_per_month"] * 0.6 * p["snapstart_restore_gb"]
    snapstart_cost = row(
        "SnapStart, USD a month",
        f"{sum(SNAPSTART_FUNCTIONS_MB) / 1024:.1f} GB cached all month x ${p['snapstart_cache_gb_second']}/GB-s +"
        f" {a['snapstart_restores_per_month']:,} restores x 0.6 GB x ${p['snapstart_restore_gb']}/GB",
        snap_cache + snap_restore,
    )
    api_cost = row("API Gateway, USD a month", f"{requests:,.0f} requests x $1.00/M", requests * p["http_api_request"])
    ses_cost = row("SES, USD a month", f"{emails:,.0f} emails x $0.10/1,000", emails * p["ses_message"])
    s = results["storage"]
    quotes = d["tickers"] * a["fetches_with_new_prices_per_month"]
    fired = emails  # one trigger and one outbox row per firing
    base_bytes = (
        d["alerts"] * s["alerts_bytes_per_row"]
        + d["tickers"] * 2520 * s["price_bars_bytes_per_row"]
        + quotes * s["quotes_bytes_per_row"]
        + d["users"] * s["users_bytes_per_row"]
    )
    growth_bytes = fired * (s["alert_triggers_bytes_per_row"] + s["notifications_bytes_per_row"]) + (
        a["forecasts_computed_per_day"] * days * a["plot_bytes_per_forecast"]
    )
    size_gb = row(
        "Postgres size, GB (first month)",
        f"alerts {d['alerts']:,} x {s['alerts_bytes_per_row']:.0f} B + bars {d['tickers']:,} x 2,520 x"
        f" {s['price_bars_bytes_per_row']:.0f} B + quotes {quotes:,} x {s['quotes_bytes_per_row']:.0f} B + users"
        f" x {s['users_bytes_per_row']:.0f} B (measured bytes a row) + a month of triggers, outbox rows and"
        f" forecasts with plots",
        (base_bytes + growth_bytes) / 1e9,
    )
    monthly_growth_gb = growth_bytes / 1e9
    concurrency = row(
        "Lambda concurrency at peak (= Postgres connections from the API)",
        f"{requests:,.0f} requests / {SECONDS_PER_MONTH:,} s x {a['peak_to_average']} x"
        f" {(api_gb_s + predict_gb_s) / requests * 1000 / 0.6:.0f} ms average (GB-s per request / ~0.6 GB)",
        math.ceil(requests / SECONDS_PER_MONTH * a["peak_to_average"] * ((api_gb_s + predict_gb_s) / requests / 0.6)),
    )
    neon_cost = row(
        "Neon, USD a month",
        f"1 CU always on x 730 h x ${p['neon_compute_cu_hour']} + {size_gb:.0f} GB x ${p['neon_storage_gb_month']}",
        730 * p["neon_compute_cu_hour"] + size_gb * p["neon_storage_gb_month"],
    )
    row(
        "Total, USD a month",
        "Lambda + SnapStart + API Gateway + SES + Neon",
        lambda_cost + snapstart_cost + api_cost + ses_cost + neon_cost,
    )
    peak_rps = row(
        "API requests a second at peak",
        f"{requests:,.0f} / {SECONDS_PER_MONTH:,} s x {a['peak_to_average']}",
        requests / SECONDS_PER_MONTH * a["peak_to_average"],
    )
    totals = {
        "peak_rps": peak_rps,
        "stage_rate_limit": stage_rate_limit(),
        "requests": requests,
        "concurrency": concurrency,
        "changed_seconds": changed_seconds,
        "emails_per_day": emails / days,
        "fetch_seconds": fetch_seconds,
        "monthly_growth_gb": monthly_growth_gb,
        "backfill_seconds_per_ticker": 2520 / fetch["backfill_bars_per_second"],
    }
    return rows, totals


def stage_rate_limit() -> float:
    """API Gateway's stage throttling, the template's default (the outer guard in front of our limits)."""
    template = (ROOT / "template.yaml").read_text()
    return float(re.search(r"ThrottlingRateLimit:\s+Type: Number\s+Default: (\d+)", template).group(1))


def growth(totals: dict, results: dict) -> list[str]:
    ev, a = results["evaluate_alerts"], ASSUMED
    peak = totals["peak_rps"]
    pg_cores = peak * 10 * a["postgres_cpu_ms_per_read"] / 1000
    return [
        f"- **Already at this size**, the busiest minute brings about {peak:.0f} requests a second against the"
        f" stage's default throttling of {totals['stage_rate_limit']:.0f} a second: raise `ThrottlingRateLimit`"
        " (and the burst) with the traffic, or API Gateway answers 429 before any function runs.",
        f"- **Users x10** (1,000,000): {totals['requests'] * 10 / 1e6:,.0f}M requests a month, {peak * 10:,.0f} a"
        f" second at peak. Lambda concurrency stays small (about {totals['concurrency'] * 10:,} at peak: requests"
        " are short), so Postgres connections (one per warm execution environment) stay in the tens to low"
        " hundreds: within a direct endpoint, and the pooled endpoint (Neon's PgBouncer, RDS Proxy) takes over past"
        " that (prepared statements need PgBouncer 1.21+, or `DatabasePreparedStatements=false`)."
        " Postgres CPU for reads"
        f" at peak: {pg_cores:.2f} cores ({a['postgres_cpu_ms_per_read']} ms a read), "
        + ("within one Neon CU." if pg_cores < 0.7 else "past one Neon CU: raise the compute size.")
        + " The stage throttling above must be raised tenfold.",
        f"- **Alerts x10** (10,000,000): a run after every price moved takes about"
        f" {totals['changed_seconds'] * 10:.0f} s (measured {ev['changed_run_seconds']:.2f} s at"
        f" {ev['alerts']:,} alerts, linear in firings), within the 240 s timeout; {totals['emails_per_day'] * 10:,.0f}"
        " emails a day need SES's send rate raised (at the default 14 a second they take"
        f" {totals['emails_per_day'] * 10 / 14 / 3600:.1f} h). Remedy: a higher SES quota and `EmailSendRate`; past"
        " one run's time, shard the evaluator by symbol (candidates are already found per symbol).",
        f"- **Tickers x10** (50,000): the provider saturates first: yfinance asks for each ticker separately, and"
        " a request per ticker each minute (300,000 an hour at 5,000 tickers already) is far past what Yahoo"
        " tolerates (not measured here; docs/decisions.md): a quote feed with a whole-market snapshot is one"
        " request a minute. Our side: writing the latest bars takes about"
        f" {totals['fetch_seconds'] * 10 - 200:.0f} s of each minute's run, and backfilling 50,000 new tickers at"
        f" the measured rate takes {totals['backfill_seconds_per_ticker'] * 50_000 / 60:.0f} minutes, past"
        " fetch_prices' 10-minute timeout: split it into direct invocations of a few thousand tickers. Remedy for"
        " the provider: a paid data feed behind the same `MarketData` protocol.",
        f"- **Storage** grows by about {totals['monthly_growth_gb']:,.0f} GB a month, nearly all of it stored plots"
        " (the forecasts themselves are small). Remedy: prune forecasts older than the history anyone reads, or"
        " keep plots in S3 and store their keys.",
    ]


def render(results: dict) -> str:
    rows, totals = model(results)
    dates = ", ".join(f"{k} {v['measured_on']}" for k, v in sorted(results.items()))
    lines = [
        START,
        f"Deployment: {DEPLOYMENT['users']:,} users, {DEPLOYMENT['alerts']:,} alerts, {DEPLOYMENT['tickers']:,}"
        f" tickers. Measurements from bench/results.json ({dates}).",
        "",
        "| line | arithmetic | value |",
        "| --- | --- | --- |",
    ]
    for what, arithmetic, value in rows:
        shown = f"{value:,.2f}" if "USD" in what else f"{value:,.0f}" if value >= 10 else f"{value:,.1f}"
        lines.append(f"| {what} | {arithmetic} | {shown} |")
    lines += ["", "What saturates first as each grows tenfold:", "", *growth(totals, results), END]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="replace the generated part of docs/scaling.md")
    args = parser.parse_args()
    text = render(json.loads(RESULTS.read_text()))
    if args.write:
        doc = DOC.read_text()
        head, rest = doc.split(START, 1)
        DOC.write_text(head + text + rest.split(END + "\n", 1)[1])
        print(f"wrote {DOC}")
    else:
        print(text, end="")


if __name__ == "__main__":
    main()
