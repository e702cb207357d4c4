"""Refresh policies for real clients: a Django REST frontend that keeps its first refresh token."""

from __future__ import annotations

import time


def sign_in(api) -> dict:
    body = {"username": "alice", "email": "alice@example.com", "password": "correct-horse-9"}
    assert api.request("POST", "/api/v1/register/", json_body=body).status_code == 201
    return api.request("POST", "/api/v1/token/", json_body={"username": "alice", "password": body["password"]}).json()


def protected(api, access: str) -> int:
    return api.request("GET", "/api/v1/protected-view/", headers={"Authorization": f"Bearer {access}"}).status_code


def test_with_rotation_off_a_client_keeping_its_first_refresh_token_stays_signed_in(lambda_api, db, settings_env):
    settings_env(REFRESH_TOKEN_ROTATION="off", ACCESS_TOKEN_TTL_SECONDS="1")
    first = sign_in(lambda_api)
    access = first["access"]
    for _ in range(3):  # three access-token expiries
        time.sleep(1.1)
        assert protected(lambda_api, access) == 401
        reply = lambda_api.request("POST", "/api/v1/token/refresh/", json_body={"refresh": first["refresh"]})
        assert reply.status_code == 200
        assert set(reply.json()) == {"access"}  # Django REST's shape: the refresh token stays as it is
        access = reply.json()["access"]
        assert protected(lambda_api, access) == 200
    # and logging out still ends it.
    assert lambda_api.request("POST", "/api/v1/logout/", json_body={"refresh": first["refresh"]}).status_code == 204
    assert (
        lambda_api.request("POST", "/api/v1/token/refresh/", json_body={"refresh": first["refresh"]}).status_code == 401
    )


def test_with_rotation_on_that_client_is_signed_out_after_the_grace(lambda_api, db, settings_env):
    settings_env(REFRESH_TOKEN_ROTATION="rotate", REFRESH_TOKEN_REUSE_GRACE_SECONDS="1")
    first = sign_in(lambda_api)
    assert (
        lambda_api.request("POST", "/api/v1/token/refresh/", json_body={"refresh": first["refresh"]}).status_code == 200
    )
    time.sleep(1.2)
    reply = lambda_api.request("POST", "/api/v1/token/refresh/", json_body={"refresh": first["refresh"]})
    assert reply.status_code == 401
    revoked = db.run(lambda conn: conn.execute("SELECT count(*) AS n FROM refresh_tokens WHERE revoked_at IS NULL"))
    assert revoked.fetchone()["n"] == 0  # reuse past the grace revoked the whole family
