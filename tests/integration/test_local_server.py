"""Things only the local server does: docs, CORS, unknown routes."""

from __future__ import annotations

import json
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


def test_openapi_documents_the_errors_each_operation_really_sends(local_server):
    spec = httpx.get(local_server.url + "/openapi.json").json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    error_ref = {"$ref": "#/components/schemas/Error"}

    def codes(path: str, method: str) -> set[str]:
        responses = spec["paths"][path][method]["responses"]
        for code, response in responses.items():
            if code >= "400":
                assert response["content"]["application/json"]["schema"] == error_ref, (path, method, code)
        return set(responses)

    assert codes("/api/v1/register/", "post") == {"201", "400", "409", "413", "415", "429", "503"}
    assert codes("/api/v1/token/", "post") == {"200", "400", "401", "413", "415", "429", "503"}
    assert codes("/api/v1/predict/", "post") == {"200", "400", "401", "404", "413", "415", "422", "429", "503"}
    assert codes("/api/v1/alerts/{alert_id}/", "get") == {"200", "400", "401", "404", "503"}
    assert codes("/api/v1/stocks/", "get") == {"200", "503"}
    health = spec["paths"]["/api/v1/health/"]["get"]["responses"]
    assert health["503"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/HealthOut"}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            # 422: too little price history for a forecast, or for an indicator alert's average; an
            # order that does not fit the buying power or the shares; canceling a closed order
            unprocessable = {
                ("/api/v1/predict/", "post"),
                ("/api/v1/alerts/", "post"),
                ("/api/v1/alerts/{alert_id}/", "patch"),
                ("/api/v1/orders/", "post"),
                ("/api/v1/orders/{order_id}/", "delete"),
            }
            assert "422" not in operation["responses"] or (path, method) in unprocessable, (path, method)
    create = spec["paths"]["/api/v1/alerts/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert create["discriminator"]["propertyName"] == "alert_type"
    assert set(create["discriminator"]["mapping"]) == {
        "threshold",
        "duration",
        "percent_change",
        "indicator",
        "forecast",
    }
    assert "links" in spec["paths"]["/api/v1/alerts/"]["post"]["responses"]["201"]


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


def raw_exchange(url: str, *requests: bytes) -> list[bytes]:
    """Send requests one after another on one keep-alive connection; return each response's head."""
    import socket
    from urllib.parse import urlparse

    where = urlparse(url)
    heads = []
    with socket.create_connection((where.hostname, where.port), timeout=10) as sock:
        reader = sock.makefile("rb")
        for request in requests:
            sock.sendall(request)
            head = b""
            while not head.endswith(b"\r\n\r\n"):
                line = reader.readline()
                if not line:
                    raise ConnectionError(f"connection closed after {len(heads)} responses")
                head += line
            length = int(re.search(rb"content-length: (\d+)", head, re.IGNORECASE).group(1))
            reader.read(length)
            heads.append(head)
    return heads


def test_an_unexpected_error_is_one_log_line_and_the_connection_stays_usable(local_server, db):
    from apigw import HttpApi
    from conftest import Users

    auth = Users(HttpApi(local_server.url)).signed_in("alice")["Authorization"].encode()
    # Given a bug that makes an endpoint fail (here: its table is gone),
    db.run(lambda conn: conn.execute("ALTER TABLE predictions RENAME TO predictions_gone"))
    log_before = local_server.log.stat().st_size
    try:
        get = b"GET /api/v1/predictions/ HTTP/1.1\r\nHost: x\r\nAuthorization: " + auth + b"\r\n\r\n"
        health = b"GET /api/v1/health/ HTTP/1.1\r\nHost: x\r\n\r\n"
        heads = raw_exchange(local_server.url, get, health)
    finally:
        db.run(lambda conn: conn.execute("ALTER TABLE predictions_gone RENAME TO predictions"))
    # then the client gets a JSON 500, and the same connection serves the next request,
    assert heads[0].startswith(b"HTTP/1.1 500")
    assert heads[1].startswith(b"HTTP/1.1 200")
    # and the error is logged once, with its traceback, and nowhere else.
    logged = local_server.log.read_bytes()[log_before:].decode()
    assert logged.count("unhandled error") == 1
    assert logged.count("Traceback") <= 1
    assert "Exception in ASGI application" not in logged


def test_after_a_client_error_the_connection_stays_usable(local_server):
    bad = b"POST /api/v1/token/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{]"
    health = b"GET /api/v1/health/ HTTP/1.1\r\nHost: x\r\n\r\n"
    heads = raw_exchange(local_server.url, bad, health)
    assert heads[0].startswith(b"HTTP/1.1 400") and heads[1].startswith(b"HTTP/1.1 200")


def test_a_huge_body_is_refused_before_it_is_read(local_server):
    import socket
    import time
    from urllib.parse import urlparse

    import psutil

    server = psutil.Process(local_server.process.pid)
    rss_before = server.memory_info().rss
    where = urlparse(local_server.url)
    chunk = b"a" * 1024 * 1024
    # The server reads 64 KiB; the sender fills the kernel's buffers (2-4 MiB here) before it is told.
    # A server that reads on gives itself away by 32 MiB, in a second rather than the 200 MiB's ten.
    limit = 32 * 1024 * 1024
    for framing in (b"Content-Length: 209715200\r\n", b"Transfer-Encoding: chunked\r\n"):
        with socket.create_connection((where.hostname, where.port), timeout=10) as sock:
            sock.sendall(
                b"POST /api/v1/token/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + framing + b"\r\n"
            )
            sent = 0
            started = time.monotonic()
            try:  # keep sending, as a hostile client would, until the server answers and closes
                while sent < limit and time.monotonic() - started < 20:
                    data = chunk if framing.startswith(b"Content") else b"%x\r\n%s\r\n" % (len(chunk), chunk)
                    sock.sendall(data)
                    sent += len(chunk)
            except OSError:
                pass
            assert sent < limit  # refused long before the body was all sent
            reply = sock.recv(4096)
        assert reply.startswith(b"HTTP/1.1 413"), reply[:100]
        assert b"connection: close" in reply.lower()
    growth = (server.memory_info().rss - rss_before) / 2**20
    assert growth < 20, f"server memory grew by {growth:.0f} MiB"


def test_each_request_logs_its_own_function_and_correlation_id(db, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from apigw import LocalServer

    # Given the local stack with its scheduled jobs running beside the requests,
    server = LocalServer().wait_ready()
    try:

        def register(i: int) -> None:
            body = {"username": f"user{i}", "email": f"user{i}@example.com", "password": "correct-horse-9"}
            reply = httpx.post(server.url + "/api/v1/register/", json=body, headers={"X-Request-Id": f"req-{i}"})
            assert reply.status_code == 201

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(register, range(4)))
    finally:
        server.stop()
    lines = [json.loads(line) for line in server.log.read_text().splitlines() if line.startswith("{")]
    registered = [line for line in lines if line.get("message") == "user registered"]
    # then each request's lines carry its own function name and request id, never a job's,
    assert len(registered) == 4
    assert all(line["function_name"] == "register" for line in registered)
    assert {line["correlation_id"] for line in registered} == {f"req-{i}" for i in range(4)}
    # and each job's lines carry the job's.
    jobs = [line for line in lines if line.get("message") in ("fetch_prices done", "process_prices done")]
    assert jobs
    for line in jobs:
        assert line["function_name"] == line["message"].split(" ")[0]
