"""Shared set-up for the benchmarks: a dedicated database on the embedded Postgres (or DATABASE_URL)."""

from __future__ import annotations

import os
import statistics
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("TICKERWATCH_DATA_DIR", str(ROOT / ".tickerwatch"))  # the same server from any folder
os.environ.setdefault("TICKERWATCH_MARKET_DATA", f"csv:{ROOT.parent / 'shared' / 'data'}")
os.environ.setdefault("JWT_SECRET", "bench-secret-bench-secret-bench-secret-0123456789")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("TICKERWATCH_FUNCTIONS_DIR", str(ROOT / "functions"))
warnings.filterwarnings("ignore")


def bench_database(name: str = "tickerwatch_bench") -> str:
    """A fresh, migrated database; sets DATABASE_URL so the functions use it."""
    import psycopg

    from tickerwatch.db import migrate
    from tickerwatch.embedded import embedded_database_url
    from tickerwatch.settings import load_settings

    if "DATABASE_URL" in os.environ:
        url = os.environ["DATABASE_URL"]
    else:
        admin = embedded_database_url(load_settings().data_dir, "postgres")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        url = admin.replace("/postgres?", f"/{name}?")
        os.environ["DATABASE_URL"] = url
    migrate(url)
    return url


def summary(label: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"{label:<34} n={len(ms):<4} median {statistics.median(ms):9.1f} ms   p95 {p95:9.1f} ms"


RESULTS = ROOT / "bench" / "results.json"


def record(bench: str, **figures: float) -> None:
    """Keep this run's headline figures in bench/results.json, which bench/cost_model.py reads: the
    capacity and cost model in docs/scaling.md is recomputed from the latest measurements. A run made
    only to compare two trees (bench/predict_against.py, or TICKERWATCH_BENCH_RECORD=0) records nothing:
    its settings and its machine's spell are not the standard measurement."""
    import json
    import os
    from datetime import date

    if os.environ.get("TICKERWATCH_BENCH_RECORD", "1") == "0":
        return

    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[bench] = {"measured_on": date.today().isoformat(), **{k: round(v, 3) for k, v in figures.items()}}
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


def copy_market(conn, usernames: list[str], prices: dict[str, float], t0, quote_minutes_before=(0,)) -> None:
    """Users, stocks priced at ``t0`` with evaluation cursors there (everything judged on these prices),
    and quotes ``quote_minutes_before`` t0, each written with COPY."""
    from datetime import timedelta

    with conn.cursor() as cur:
        with cur.copy("COPY users (username, email, password_hash) FROM STDIN") as copy:
            for name in usernames:
                copy.write_row((name, f"{name}@example.com", "x"))
        with cur.copy("COPY stocks (symbol, current_price, price_time, previous_close) FROM STDIN") as copy:
            for symbol, p in prices.items():
                copy.write_row((symbol, p, t0, p))
        with cur.copy("COPY evaluation_cursors (symbol, quoted_at, price, judged_at) FROM STDIN") as copy:
            for symbol, p in prices.items():
                copy.write_row((symbol, t0, p, t0))
        with cur.copy("COPY quotes (symbol, quoted_at, price) FROM STDIN") as copy:
            for symbol, p in prices.items():
                for minutes in quote_minutes_before:
                    copy.write_row((symbol, t0 - timedelta(minutes=minutes), p))


def out(line: str) -> None:
    print(line, flush=True)
    sys.stdout.flush()
