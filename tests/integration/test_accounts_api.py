"""Accounts and tokens, through the Lambda handlers and over HTTP, on the real database."""

from __future__ import annotations

import base64
import json
import os
import time

import jwt
import pytest

SECRET = os.environ["JWT_SECRET"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---------------------------------------------------------------- register


def test_register_creates_user(api):
    reply = api.request(
        "POST",
        "/api/v1/register/",
        json_body={"username": "alice", "email": "alice@example.com", "password": "correct-horse-9"},
    )
    assert reply.status_code == 201
    body = reply.json()
    assert body == {"id": body["id"], "username": "alice", "email": "alice@example.com"}
    assert isinstance(body["id"], int)
    assert "password" not in reply.content.decode()


@pytest.mark.parametrize(
    ("second", "field"),
    [
        ({"username": "ALICE", "email": "other@example.com"}, "username"),
        ({"username": "bob", "email": "Alice@Example.com"}, "email"),
    ],
)
def test_register_duplicate_is_conflict(api, users, db, second, field):
    users.register("alice")
    reply = api.request("POST", "/api/v1/register/", json_body={**second, "password": "correct-horse-9"})
    assert reply.status_code == 409
    assert reply.json()["detail"] == f"A user with that {field} already exists."
    assert db.run(lambda conn: conn.execute("SELECT count(*) AS n FROM users").fetchone()["n"]) == 1


@pytest.mark.parametrize(
    ("body", "bad_fields"),
    [
        ({}, {"username", "email", "password"}),
        ({"username": "al", "email": "al@example.com", "password": "correct-horse-9"}, {"username"}),
        ({"username": "a" * 151, "email": "al@example.com", "password": "correct-horse-9"}, {"username"}),
        ({"username": "al ice", "email": "al@example.com", "password": "correct-horse-9"}, {"username"}),
        ({"username": "alice", "email": "not-an-email", "password": "correct-horse-9"}, {"email"}),
        ({"username": "alice", "email": "a@example.com", "password": "short1"}, {"password"}),
        ({"username": "alice", "email": "not-an-email", "password": "short1"}, {"email", "password"}),  # together
        ({"username": "alice", "email": "a@example.com", "password": "1234567890"}, {"password"}),
        ({"username": "alice.smith", "email": "a@example.com", "password": "Alice.Smith"}, {"password"}),
        ({"username": 5, "email": "a@example.com", "password": "correct-horse-9"}, {"username"}),
    ],
)
def test_register_rejects_bad_input_per_field(api, body, bad_fields):
    reply = api.request("POST", "/api/v1/register/", json_body=body)
    assert reply.status_code == 400
    payload = reply.json()
    assert payload["detail"]
    assert set(reply.fields()) == bad_fields
    assert all(isinstance(m, str) and m for msgs in reply.fields().values() for m in msgs)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("password", "short1", "This password is too short. It must contain at least 8 characters."),
        ("password", "x" * 4097, "Ensure this field has no more than 4096 characters."),
        ("username", "al", "Ensure this field has between 3 and 150 characters."),
        (
            "username",
            "al ice",
            "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.",
        ),
    ],
)
def test_register_errors_are_in_djangos_words(api, field, value, message):
    """As the README shows them, and as a frontend written for Django REST framework expects them."""
    body = {"username": "alice", "email": "a@example.com", "password": "correct-horse-9", field: value}
    reply = api.request("POST", "/api/v1/register/", json_body=body)
    assert reply.status_code == 400
    assert reply.json() == {"detail": "Invalid input.", field: [message]}


def test_register_accepts_django_username_characters(api):
    reply = api.request(
        "POST",
        "/api/v1/register/",
        json_body={"username": "a.b@c+d-e_f", "email": "x@example.com", "password": "correct-horse-9"},
    )
    assert reply.status_code == 201


def test_malformed_json_is_400(api):
    reply = api.request("POST", "/api/v1/register/", content=b'{"username": ')
    assert reply.status_code == 400
    assert reply.json() == {"detail": "Invalid input.", "non_field_errors": ["Request body is not valid JSON."]}


def test_a_registration_that_fails_after_writing_leaves_nothing_behind(lambda_api, db, monkeypatch):
    from tickerwatch.data import users as user_store

    real_insert = user_store.insert_user

    def insert_then_fail(conn, *args):
        real_insert(conn, *args)  # the row is really written in the transaction,
        raise RuntimeError("the function died before commit")  # then the unit of work fails

    monkeypatch.setattr(user_store, "insert_user", insert_then_fail)
    reply = lambda_api.request(
        "POST",
        "/api/v1/register/",
        json_body={"username": "bob", "email": "b@example.com", "password": "correct-horse-9"},
    )
    assert reply.status_code == 500
    assert reply.json() == {"detail": "Internal server error."}
    assert db.run(lambda conn: conn.execute("SELECT count(*) AS n FROM users").fetchone()["n"]) == 0
    monkeypatch.setattr(user_store, "insert_user", real_insert)
    # and the same registration then succeeds: nothing half-written blocks it.
    again = lambda_api.request(
        "POST",
        "/api/v1/register/",
        json_body={"username": "bob", "email": "b@example.com", "password": "correct-horse-9"},
    )
    assert again.status_code == 201


# ---------------------------------------------------------------- tokens


def test_token_pair_for_good_credentials(api, users):
    users.register("alice")
    reply = api.request("POST", "/api/v1/token/", json_body={"username": "alice", "password": "correct-horse-9"})
    assert reply.status_code == 200
    pair = reply.json()
    access = jwt.decode(pair["access"], SECRET, algorithms=["HS256"])
    refresh = jwt.decode(pair["refresh"], SECRET, algorithms=["HS256"])
    assert access["type"] == "access" and refresh["type"] == "refresh"
    assert access["exp"] - access["iat"] == 15 * 60
    assert refresh["exp"] - refresh["iat"] == 7 * 24 * 3600


def test_a_password_hashed_with_other_parameters_is_rehashed_at_login(lambda_api, db, settings_env):
    from argon2 import PasswordHasher

    from tickerwatch.data import users as user_rows

    account = {"username": "alice", "email": "alice@example.com", "password": "correct-horse-9"}
    login = {"username": "alice", "password": "correct-horse-9"}

    def stored_hash() -> str:
        return db.one(lambda conn: user_rows.get_credentials(conn, "alice")).password_hash

    settings_env(PASSWORD_HASHING="rfc9106-low-memory")
    assert lambda_api.request("POST", "/api/v1/register/", json_body=account).status_code == 201
    before = stored_hash()
    assert before.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    settings_env(PASSWORD_HASHING="cheapest")
    assert lambda_api.request("POST", "/api/v1/token/", json_body=login).status_code == 200
    after = stored_hash()
    assert after != before and not after.startswith("$argon2id$v=19$m=65536")
    assert PasswordHasher().verify(after, "correct-horse-9")  # the same password under the new parameters
    assert lambda_api.request("POST", "/api/v1/token/", json_body=login).status_code == 200


def test_login_ignores_the_case_of_the_username(api, users):
    users.register("alice")
    reply = api.request("POST", "/api/v1/token/", json_body={"username": "ALICE", "password": "correct-horse-9"})
    assert reply.status_code == 200


@pytest.mark.parametrize(("username", "password"), [("alice", "wrong-password"), ("nobody", "correct-horse-9")])
def test_bad_credentials_get_one_message(api, users, username, password):
    users.register("alice")
    reply = api.request("POST", "/api/v1/token/", json_body={"username": username, "password": password})
    assert reply.status_code == 401
    assert reply.json() == {"detail": "No active account found with the given credentials."}


def test_token_request_missing_fields_is_400(api):
    reply = api.request("POST", "/api/v1/token/", json_body={"username": "alice"})
    assert reply.status_code == 400
    assert set(reply.fields()) == {"password"}


def rotated_long_ago(db) -> None:
    """Given the refresh tokens were rotated a minute ago: past the reuse grace."""
    db.run(lambda conn: conn.execute("UPDATE refresh_tokens SET used_at = used_at - interval '1 minute'"))


def test_refresh_rotates_and_old_token_stops_working_after_the_grace(api, users, db):
    users.register("alice")
    first = users.tokens("alice")
    reply = api.request("POST", "/api/v1/token/refresh/", json_body={"refresh": first["refresh"]})
    assert reply.status_code == 200
    second = reply.json()
    assert second["refresh"] != first["refresh"]
    assert api.request("GET", "/api/v1/protected-view/", headers=bearer(second["access"])).status_code == 200

    rotated_long_ago(db)
    again = api.request("POST", "/api/v1/token/refresh/", json_body={"refresh": first["refresh"]})
    assert again.status_code == 401
    assert again.json() == {"detail": "Token is invalid or expired."}


def test_a_repeat_within_the_grace_gets_a_fresh_pair_and_revokes_nothing(api, users):
    users.register("alice")
    first = users.tokens("alice")["refresh"]
    # Given two tabs (or a retried request) refresh with the same token at once,
    a = api.request("POST", "/api/v1/token/refresh/", json_body={"refresh": first})
    b = api.request("POST", "/api/v1/token/refresh/", json_body={"refresh": first})
    # then both get a working pair, in the same family, and neither is signed out.
    assert (a.status_code, b.status_code) == (200, 200)
    assert a.json()["refresh"] != b.json()["refresh"]
    family = {jwt.decode(r.json()["refresh"], SECRET, algorithms=["HS256"])["fam"] for r in (a, b)}
    assert family == {jwt.decode(first, SECRET, algorithms=["HS256"])["fam"]}
    for reply in (a, b):
        again = api.request("POST", "/api/v1/token/refresh/", json_body={"refresh": reply.json()["refresh"]})
        assert again.status_code == 200


def test_refresh_reuse_after_the_grace_revokes_the_whole_family(api, users, db):
    users.register("alice")
    stolen = users.tokens("alice")["refresh"]
    legit = api.request("POST", "/api/v1/token/refresh/", json_body={"refresh": stolen}).json()["refresh"]
    rotated_long_ago(db)

    # Given the thief replays the already-used token, when the owner then rotates theirs,
    reuse = api.request("POST", "/api/v1/token/refresh/", json_body={"refresh": stolen})
    owner = api.request("POST", "/api/v1/token/refresh/", json_body={"refresh": legit})

    # then both are refused: the family is revoked.
    assert reuse.status_code == 401
    assert owner.status_code == 401


def test_reuse_does_not_touch_other_sessions(api, users, db):
    users.register("alice")
    laptop = users.tokens("alice")["refresh"]
    phone = users.tokens("alice")["refresh"]
    api.request("POST", "/api/v1/token/refresh/", json_body={"refresh": laptop})
    rotated_long_ago(db)
    reuse = api.request("POST", "/api/v1/token/refresh/", json_body={"refresh": laptop})  # laptop family revoked
    assert reuse.status_code == 401
    assert api.request("POST", "/api/v1/token/refresh/", json_body={"refresh": phone}).status_code == 200


def test_logout_revokes_family(api, users):
    users.register("alice")
    pair = users.tokens("alice")
    rotated = api.request("POST", "/api/v1/token/refresh/", json_body={"refresh": pair["refresh"]}).json()
    reply = api.request("POST", "/api/v1/logout/", json_body={"refresh": rotated["refresh"]})
    assert reply.status_code == 204
    assert reply.content == b""
    assert api.request("POST", "/api/v1/token/refresh/", json_body={"refresh": rotated["refresh"]}).status_code == 401


def test_logout_with_garbage_token_is_401(api):
    reply = api.request("POST", "/api/v1/logout/", json_body={"refresh": "garbage"})
    assert reply.status_code == 401


def test_access_token_cannot_refresh(api, users):
    users.register("alice")
    pair = users.tokens("alice")
    assert api.request("POST", "/api/v1/token/refresh/", json_body={"refresh": pair["access"]}).status_code == 401


# ---------------------------------------------------------------- protected view


def test_protected_view_with_access_token(api, users):
    registered = users.register("alice")
    access = users.tokens("alice")["access"]
    reply = api.request("GET", "/api/v1/protected-view/", headers=bearer(access))
    assert reply.status_code == 200
    body = reply.json()
    assert body["status"] == "Request was permitted"
    assert body["user"]["id"] == registered["id"]
    assert body["user"]["username"] == "alice"


def _forge(claims: dict, secret: str = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=algorithm)


def _alg_none(claims: dict) -> str:
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def _bad_tokens(user_id: int, refresh: str, access: str) -> dict[str, str]:
    now = int(time.time())
    good = {"sub": str(user_id), "type": "access", "iat": now, "exp": now + 600}
    header, _payload, signature = access.split(".")
    tampered_payload = (
        base64.urlsafe_b64encode(
            json.dumps({**jwt.decode(access, SECRET, algorithms=["HS256"]), "sub": "999999"}).encode()
        )
        .rstrip(b"=")
        .decode()
    )
    return {
        "expired": _forge({**good, "iat": now - 1000, "exp": now - 10}),
        "tampered": f"{header}.{tampered_payload}.{signature}",
        "wrong secret": _forge(good, secret="another-secret-another-secret-0123456789"),
        "alg none": _alg_none(good),
        "refresh as access": refresh,
        "no type": _forge({k: v for k, v in good.items() if k != "type"}),
        "unknown user": _forge({**good, "sub": "987654"}),
        "garbage": "not.a.jwt",
        # signed with our key, but not claims we issue: each would otherwise pass (or be a 500)
        "exp a string": _forge({**good, "exp": str(now + 600)}),
        "iat a string": _forge({**good, "iat": str(now)}),
        "exp a float": _forge({**good, "exp": now + 600.5}),
        "sub padded": _forge({**good, "sub": f" {user_id} "}),
        "sub signed": _forge({**good, "sub": f"+{user_id}"}),
        "sub zero-led": _forge({**good, "sub": f"0{user_id}"}),
        "sub arabic-indic": _forge({**good, "sub": "".join(chr(0x0660 + int(d)) for d in str(user_id))}),
        "sub a number": _forge({**good, "sub": user_id}),
    }


@pytest.mark.parametrize(
    "case",
    [
        "expired",
        "tampered",
        "wrong secret",
        "alg none",
        "refresh as access",
        "no type",
        "unknown user",
        "garbage",
        "exp a string",
        "iat a string",
        "exp a float",
        "sub padded",
        "sub signed",
        "sub zero-led",
        "sub arabic-indic",
        "sub a number",
    ],
)
def test_protected_view_rejects_bad_tokens(api, users, case):
    registered = users.register("alice")
    pair = users.tokens("alice")
    token = _bad_tokens(registered["id"], pair["refresh"], pair["access"])[case]
    reply = api.request("GET", "/api/v1/protected-view/", headers=bearer(token))
    assert reply.status_code == 401
    assert reply.json()["detail"]


@pytest.mark.parametrize("header", [None, "Basic YWxpY2U6cGFzcw==", "Bearer"])
def test_protected_view_without_bearer_is_401(api, header):
    reply = api.request("GET", "/api/v1/protected-view/", headers={"Authorization": header} if header else None)
    assert reply.status_code == 401
    assert "detail" in reply.json()


def test_email_notification_preference(api, users):
    auth = users.signed_in("alice")
    reply = api.request("PATCH", "/api/v1/me/", json_body={"email_notifications": False}, headers=auth)
    assert reply.status_code == 200
    assert reply.json()["email_notifications"] is False
    assert api.request("GET", "/api/v1/me/", headers=auth).json()["email_notifications"] is False
    bad = api.request("PATCH", "/api/v1/me/", json_body={"email_notifications": "maybe"}, headers=auth)
    assert bad.status_code == 400


# ---------------------------------------------------------------- health


def test_health_reports_database(api):
    reply = api.request("GET", "/api/v1/health/")
    assert reply.status_code == 200
    assert reply.json()["database"] == "reachable"


@pytest.mark.parametrize("content", [b'["a list"]', b'"a string"'])
def test_body_that_is_not_an_object_is_400(api, content):
    reply = api.request("POST", "/api/v1/register/", content=content)
    assert reply.status_code == 400
    assert reply.json() == {"detail": "Invalid input.", "non_field_errors": ["Expected a JSON object."]}


def test_form_encoded_body_is_415_saying_what_to_send(local_server):
    import httpx

    reply = httpx.post(local_server.url + "/api/v1/register/", data={"username": "alice"})
    assert reply.status_code == 415
    assert "application/json" in reply.json()["detail"]
