"""Things only the local server does: docs, CORS, unknown routes."""

from __future__ import annotations

import re

import httpx


def test_openapi_lists_every_function_route(local_server):
    spec = httpx.get(local_server.url + "/openapi.json").json()
    for path in [
        "/api/v1/register/",
        "/api/v1/token/",
        "/api/v1/token/refresh/",
        "/api/v1/logout/",
        "/api/v1/protected-view/",
        "/api/v1/health/",
        "/api/v1/me/",
    ]:
        assert path in spec["paths"], path


def test_docs_work_offline(local_server):
    page = httpx.get(local_server.url + "/docs")
    assert page.status_code == 200
    # everything the page loads is served by the server itself: no CDN
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(a.startswith("/") for a in assets), assets
    for asset in assets:
        assert httpx.get(local_server.url + asset).status_code == 200, asset
    assert "/openapi.json" in page.text


def test_cors_preflight_for_configured_origin(local_server):
    reply = httpx.options(
        local_server.url + "/api/v1/token/",
        headers={
            "Origin": "http://localhost:5173",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert reply.status_code == 200
    assert reply.headers["access-control-allow-origin"] == "http://localhost:5173"


def test_cors_refuses_other_origins(local_server):
    reply = httpx.options(
        local_server.url + "/api/v1/token/",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in reply.headers


def test_unknown_route_is_json_404(local_server):
    reply = httpx.get(local_server.url + "/api/v1/nothing-here/")
    assert reply.status_code == 404
    assert reply.json() == {"detail": "Not Found"}


def test_serve_on_its_own_embedded_database_stops_it_on_sigterm(tmp_path):
    import signal
    import time

    from apigw import LocalServer

    # Given `tickerwatch serve` with no DATABASE_URL: it starts (and migrates) an embedded Postgres,
    server = LocalServer("--no-jobs", env={"DATABASE_URL": "", "TICKERWATCH_DATA_DIR": str(tmp_path)}).wait_ready()
    pid_file = tmp_path / "pg" / "postmaster.pid"
    assert pid_file.exists()
    reply = httpx.post(
        server.url + "/api/v1/register/",
        json={"username": "solo", "email": "solo@example.com", "password": "correct-horse-9"},
    )
    assert reply.status_code == 201
    # when it is stopped the way a process manager stops it,
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(30) == 0
    # then the database it started stops with it.
    deadline = time.monotonic() + 10
    while pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not pid_file.exists()


def test_the_embedded_postgres_stops_even_when_its_owner_is_killed(tmp_path):
    import signal
    import time

    from apigw import LocalServer

    def wait_stopped(pid_file, seconds=15):
        deadline = time.monotonic() + seconds
        while pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        return not pid_file.exists()

    env = {"DATABASE_URL": "", "TICKERWATCH_DATA_DIR": str(tmp_path)}
    pid_file = tmp_path / "pg" / "postmaster.pid"
    # Given `tickerwatch serve` on its own embedded Postgres, killed with SIGKILL (no exit hooks run),
    first = LocalServer("--no-jobs", env=env).wait_ready()
    assert pid_file.exists()
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(10)
    # then its Postgres stops anyway,
    assert wait_stopped(pid_file)
    # and a later owner starts it again and, stopped cleanly, stops it too (the dead owner counts for nothing).
    second = LocalServer("--no-jobs", env=env).wait_ready()
    assert pid_file.exists()
    second.process.send_signal(signal.SIGTERM)
    assert second.process.wait(30) == 0
    assert wait_stopped(pid_file)
