"""The HTTP edge against hostile and careless clients: through the Lambda handlers and over HTTP."""

from __future__ import annotations

import asyncio
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI, Request

from tickerwatch.web import CurrentUser, GuardedRoute


def test_nul_bytes_are_a_400_naming_the_field(api, users):
    auth = users.signed_in()
    reply = api.request("POST", "/api/v1/token/", json_body={"username": "ali\x00ce", "password": "x"})
    assert reply.status_code == 400
    assert reply.json() == {"detail": "Invalid input.", "username": ["Null characters are not allowed."]}
    reply = api.request("GET", "/api/v1/alerts/", params={"stock_symbol": "AC\x00ME"}, headers=auth)
    assert reply.status_code == 400
    assert reply.fields() == {"stock_symbol": ["Null characters are not allowed."]}
    # an escaped backslash followed by "u0000" is text, not a NUL
    reply = api.request("POST", "/api/v1/token/", content=b'{"username": "a\\\\u0000b", "password": "x"}')
    assert reply.status_code == 401


@pytest.mark.parametrize("path", ["/api/v1/alerts/", "/api/v1/alerts/triggered/", "/api/v1/predictions/"])
@pytest.mark.parametrize("offset", ["9223372036854775808", "1000001", "-1"])
def test_offsets_are_bounded(api, users, path, offset):
    reply = api.request("GET", path, params={"offset": offset}, headers=users.signed_in())
    assert reply.status_code == 400
    assert list(reply.fields()) == ["offset"]


def test_huge_ids_are_400_not_a_database_error(api, users):
    reply = api.request("GET", "/api/v1/alerts/99999999999999999999/", headers=users.signed_in())
    assert reply.status_code == 400
    assert list(reply.fields()) == ["alert_id"]


def test_405_names_every_allowed_method(api, users):
    auth = users.signed_in()
    if api.kind == "http":  # API Gateway answers unknown routes itself; only the local server sees these
        reply = api.request("PUT", "/api/v1/me/", json_body={}, headers=auth)
        assert reply.status_code == 405
        assert {"GET", "PATCH"} <= set(reply.headers["allow"].replace(" ", "").split(","))
        assert reply.json() == {"detail": 'Method "PUT" not allowed.'}
        assert api.request("PROPFIND", "/api/v1/me/", headers=auth).status_code == 405  # known to HTTP, not here
    reply = api.request("PATCH", "/api/v1/alerts/triggered/", json_body={}, headers=auth)
    assert reply.status_code == 405
    assert "GET" in reply.headers["allow"]


def test_a_missing_token_is_401_before_the_body_is_looked_at(api):
    for content in (b'{"ticker": ', b'["not an object"]', b"x" * 70_000):
        reply = api.request("POST", "/api/v1/predict/", content=content)
        assert reply.status_code == 401, content[:20]
        assert reply.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("token", [None, "not-a-token", "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl"])
def test_a_missing_or_bad_token_on_a_read_is_401_before_its_query_is_looked_at(api, token):
    # Reads verify the token on the event loop and read the user in the endpoint's thread; a token
    # that does not verify still goes the whole way first.
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    reply = api.request("GET", "/api/v1/alerts/", params={"offset": "-1"}, headers=headers)
    assert reply.status_code == 401
    assert reply.headers["www-authenticate"] == "Bearer"


def test_the_token_of_a_deleted_user_is_401_on_reads_and_before_a_body(api, users, db):
    auth = users.signed_in("gone")
    assert api.request("GET", "/api/v1/alerts/", headers=auth).status_code == 200
    db.one(lambda conn: conn.execute("DELETE FROM users WHERE username = 'gone'"))
    for path in ("/api/v1/alerts/", "/api/v1/predictions/", "/api/v1/watchlists/"):
        reply = api.request("GET", path, headers=auth)
        assert reply.status_code == 401, path
        assert reply.json() == {"detail": "Token is invalid or expired."}
    assert api.request("GET", "/api/v1/alerts/", params={"offset": "-1"}, headers=auth).status_code == 400
    reply = api.request("PATCH", "/api/v1/me/", content=b'{"email_notifications": ', headers=auth)
    assert reply.status_code == 401


def _owner_id(request: Request) -> int:
    return request.state.user.id


def _app_with_a_dependency_reading_the_user() -> FastAPI:
    app = FastAPI()
    app.router.route_class = GuardedRoute

    @app.get("/mine")
    def mine(user: CurrentUser, seen: Annotated[int, Depends(_owner_id)]) -> dict:
        return {"user": user.id, "seen": seen}

    return app


def test_a_read_with_another_dependency_gets_the_user_before_it_runs(users, api):
    # Only a read whose sole dependency is the user reads it in the endpoint's thread; a dependency
    # that reads the user (a per-user limit) must find it there already.
    async def read(headers: dict[str, str]) -> httpx.Response:
        transport = httpx.ASGITransport(app=_app_with_a_dependency_reading_the_user())
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/mine", headers=headers)

    loop = asyncio.new_event_loop()  # not asyncio.run, which leaves Mangum's thread without a current loop
    try:
        reply = loop.run_until_complete(read(users.signed_in("dep")))
    finally:
        loop.close()
    assert reply.status_code == 200
    assert reply.json()["seen"] == reply.json()["user"]


def test_a_body_that_is_not_json_is_415(api, users):
    reply = api.request(
        "POST",
        "/api/v1/alerts/",
        content=b"stock_symbol=ACME",
        headers={**users.signed_in(), "content-type": "text/plain"},
    )
    assert reply.status_code == 415
    assert "application/json" in reply.json()["detail"]


UTF8_ONLY = "Request body must be JSON encoded as UTF-8."
NOT_JSON = "Request body is not valid JSON."


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"username": "a", "username": "b", "password": "x"}', "The key 'username' appears more than once."),
        (b'{"username": "a", "password": "x", "extra": {"k": 1, "k": 2}}', "The key 'k' appears more than once."),
        ('{"username": "a", "password": "x"}'.encode("utf-16"), UTF8_ONLY),
        ('{"username": "a", "password": "x"}'.encode("utf-16-le"), NOT_JSON),  # valid UTF-8, raw NULs
        (b'\xef\xbb\xbf{"username": "a", "password": "x"}', NOT_JSON),  # a byte-order mark
        (b'{"username": "a\xff", "password": "x"}', UTF8_ONLY),
        (b'{"username": "a", "password": NaN}', NOT_JSON),
        (b'{"username": "a", "password": Infinity}', NOT_JSON),
        (b'{"username": "a", ', NOT_JSON),
        (b'{"username": "a"} {"password": "x"}', NOT_JSON),
        (b"[" * 100_00, NOT_JSON),
    ],
)
def test_every_body_follows_one_grammar(api, body, message):
    """RFC 8259 JSON in UTF-8, no repeated key: anything else is a 400 under non_field_errors."""
    reply = api.request("POST", "/api/v1/token/", content=body)
    assert reply.status_code == 400, reply.content
    assert reply.json() == {"detail": "Invalid input.", "non_field_errors": [message]}


def test_a_repeated_key_never_decides_an_order(api, users):
    auth = users.signed_in()
    body = b'{"symbol": "TSLA", "side": "buy", "qty": "1", "qty": "2", "type": "market"}'
    reply = api.request("POST", "/api/v1/orders/", content=body, headers=auth)
    assert reply.status_code == 400
    assert reply.fields() == {"non_field_errors": ["The key 'qty' appears more than once."]}
    assert api.request("GET", "/api/v1/orders/", params={"status": "all"}, headers=auth).json()["count"] == 0


@pytest.mark.parametrize("symbol", ["TSLA\n", "TSLA ", " TSLA", "TS LA", "TSLA\t"])
def test_a_symbol_is_exactly_the_documented_pattern(api, users, symbol):
    auth = users.signed_in()
    body = {"symbol": symbol, "side": "buy", "qty": "1", "type": "market"}
    placed = api.request("POST", "/api/v1/orders/", json_body=body, headers=auth)
    assert placed.status_code == 400, placed.content
    assert placed.fields() == {"symbol": [f"'{symbol}' is not a valid ticker symbol."]}


def test_a_body_over_64_kib_is_413(api):
    reply = api.request("POST", "/api/v1/token/", content=b'{"username": "' + b"a" * 70_000 + b'"}')
    assert reply.status_code == 413
    assert reply.json() == {"detail": "Request body is larger than 64 KiB."}


@pytest.mark.parametrize(
    ("body", "field"),
    [({"email_notifications": "off"}, "email_notifications"), ({"email_notifications": 0}, "email_notifications")],
)
def test_booleans_are_json_booleans(api, users, body, field):
    auth = users.signed_in()
    reply = api.request("PATCH", "/api/v1/me/", json_body=body, headers=auth)
    assert reply.status_code == 400
    assert list(reply.fields()) == [field]
    assert api.request("GET", "/api/v1/me/", headers=auth).json()["email_notifications"] is True


@pytest.mark.parametrize("start", ["0", "1700000000", "2013-2-1", "yesterday"])
def test_dates_are_iso_dates(api, users, start):
    reply = api.request("GET", "/api/v1/stocks/GOOG/prices/", params={"start": start})
    assert reply.status_code == 400
    assert reply.fields() == {"start": ["Value error, Enter a date as YYYY-MM-DD."]} or list(reply.fields()) == [
        "start"
    ]


def test_errors_use_the_requests_own_field_names(api, users):
    auth = users.signed_in()
    reply = api.request("POST", "/api/v1/predict/", json_body={"ticker": "no way!"}, headers=auth)
    assert reply.fields() == {"ticker": ["Value error, 'no way!' is not a valid ticker symbol."]} or list(
        reply.fields()
    ) == ["ticker"]
    body = {"stock_symbol": "bad symbol!", "alert_type": "threshold", "condition": "above", "threshold_price": "1"}
    reply = api.request("POST", "/api/v1/alerts/", json_body=body, headers=auth)
    assert list(reply.fields()) == ["stock_symbol"]
    assert "is not a valid ticker symbol" in reply.fields()["stock_symbol"][0]


@pytest.mark.parametrize(
    ("existing", "lookalike", "status", "field_message"),
    [
        ("alice", "\u0430lice", 400, "may not mix Cyrillic and Latin letters"),  # Cyrillic a
        ("\u00c5lice", "\u212bLICE", 409, "A user with that username already exists."),  # Angstrom sign, upper case
        ("user1", "\uff55\uff53\uff45\uff52\uff11", 409, "A user with that username already exists."),  # fullwidth
        ("alice", "\u03b1lice", 400, "may not mix Greek and Latin letters"),  # Greek alpha
    ],
)
def test_look_alike_usernames_are_refused(api, users, db, existing, lookalike, status, field_message):
    users.register(existing, email="first@example.com")
    reply = api.request(
        "POST",
        "/api/v1/register/",
        json_body={"username": lookalike, "email": "second@example.com", "password": "correct-horse-9"},
    )
    assert reply.status_code == status, reply.content
    assert any(field_message in m for m in reply.fields()["username"])
    assert db.run(lambda conn: conn.execute("SELECT count(*) AS n FROM users").fetchone()["n"]) == 1


def test_usernames_are_stored_normalised_and_sign_in_in_any_form(api, users):
    created = users.register("\uff55\uff53\uff45\uff52\uff11", email="u@example.com")  # fullwidth "user1"
    assert created["username"] == "user1"
    for name in ("user1", "USER1", "\uff35\uff33\uff25\uff32\uff11"):
        reply = api.request("POST", "/api/v1/token/", json_body={"username": name, "password": "correct-horse-9"})
        assert reply.status_code == 200, name


def test_duplicate_registration_says_which_field(api, users):
    users.register("alice")
    body = {"username": "alice", "email": "alice@example.com", "password": "correct-horse-9"}
    reply = api.request("POST", "/api/v1/register/", json_body=body)
    assert reply.status_code == 409
    assert reply.json() == {
        "detail": "A user with that username and email already exists.",
        "username": ["A user with that username already exists."],
        "email": ["A user with that email already exists."],
    }


@pytest.mark.parametrize(
    ("function", "schema", "fields"),
    [
        ("stocks", "WatchlistPatch", ["name", "symbols"]),
        ("alerts", "AlertPatch", ["alert_type", "condition", "recurring", "cooldown_minutes"]),
    ],
)
def test_a_patch_field_the_server_refuses_as_null_is_not_nullable_in_the_document(
    settings_env, function, schema, fields
):
    import json

    from tickerwatch.local import load_function
    from tickerwatch.web import openapi_document

    properties = openapi_document(load_function(function).app)["components"]["schemas"][schema]["properties"]
    for field in fields:
        assert "null" not in json.dumps(properties[field]), (schema, field, properties[field])
    if schema == "AlertPatch":  # what may be cleared still says so
        assert "null" in json.dumps(properties["webhook_id"])


@pytest.mark.parametrize(
    ("method", "path"),
    [("DELETE", "/api/v1/webhooks/%0A/"), ("DELETE", "/api/v1/alerts/%0A/"), ("GET", "/api/v1/alerts/%09/")],
)
def test_a_path_with_a_control_character_names_nothing(api, users, method, path):
    # routing would read `/webhooks/\n/` as the list (Python's `$` matches before a trailing newline): 405
    reply = api.request(method, path, headers=users.signed_in())
    assert reply.status_code == 404 and reply.json() == {"detail": "Not found."}
