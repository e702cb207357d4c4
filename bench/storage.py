"""Bytes per row of the big tables (heap, indexes and TOAST), read from the databases the evaluate_alerts
and fetch_prices benchmarks leave behind; bench/cost_model.py sizes Postgres from these."""

from __future__ import annotations

import psycopg
from _common import out, record

from tickerwatch.embedded import embedded_database_url
from tickerwatch.settings import load_settings

TABLES = {
    "tickerwatch_bench_alerts": ["alerts", "alert_triggers", "notifications", "quotes", "users"],
    "tickerwatch_bench": ["price_bars"],
}


def main() -> None:
    admin = embedded_database_url(load_settings().data_dir, "postgres")
    figures = {}
    for database, tables in TABLES.items():
        with psycopg.connect(admin.replace("/postgres?", f"/{database}?")) as conn:
            for table in tables:
                rows, size = conn.execute(f"SELECT count(*), pg_total_relation_size('{table}') FROM {table}").fetchone()
                if rows:
                    figures[f"{table}_bytes_per_row"] = size / rows
                    out(f"{table:<16} {rows:>12,} rows {size / 2**20:>9.1f} MiB {size / rows:>7.0f} bytes a row")
    record("storage", **figures)


if __name__ == "__main__":
    main()
