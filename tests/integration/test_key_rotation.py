"""Rotating the JWT signing key signs nobody out: locally (JWT_SECRET + JWT_PREVIOUS_SECRETS) and in
AWS (the secret's AWSCURRENT and AWSPREVIOUS, rotated by the rotation function, Secrets Manager in moto)."""

from __future__ import annotations

import uuid

import boto3
import jwt
import pytest
from moto import mock_aws
from test_refresh_policy import protected, sign_in

from tickerwatch import runtime
from tickerwatch.events import LocalContext
from tickerwatch.local import load_function
from tickerwatch.signing import key_id

OLD_KEY = "test-secret-for-the-test-suite-only-0123456789"  # tests/conftest.py's JWT_SECRET
NEW_KEY = "the-next-signing-key-of-the-test-suite-0123456789"


def kid(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


def test_a_rotation_keeps_everyone_signed_in_and_new_tokens_use_the_new_key(lambda_api, db, settings_env):
    # Given a user signed in before the rotation,
    before = sign_in(lambda_api)
    assert kid(before["access"]) == key_id(OLD_KEY)
    # when the key rotates and the old one is kept as previous,
    settings_env(JWT_SECRET=NEW_KEY, JWT_PREVIOUS_SECRETS=OLD_KEY)
    # then the old access token still works, the old refresh token still refreshes, and what is issued
    # now is signed with the new key.
    assert protected(lambda_api, before["access"]) == 200
    reply = lambda_api.request("POST", "/api/v1/token/refresh/", json_body={"refresh": before["refresh"]})
    assert reply.status_code == 200
    after = reply.json()
    assert kid(after["access"]) == kid(after["refresh"]) == key_id(NEW_KEY)
    assert protected(lambda_api, after["access"]) == 200
    # Once the longest token lifetime has passed the old key is dropped: its tokens end, the new ones live.
    settings_env(JWT_SECRET=NEW_KEY, JWT_PREVIOUS_SECRETS="")
    assert protected(lambda_api, before["access"]) == 401
    assert protected(lambda_api, after["access"]) == 200


def test_a_token_with_an_unknown_key_id_gets_401(lambda_api, db):
    before = sign_in(lambda_api)
    claims = jwt.decode(before["access"], OLD_KEY, algorithms=["HS256"])
    stranger = "a-key-this-deployment-never-had-0123456789abcdef"
    for token in (
        jwt.encode(claims, stranger, algorithm="HS256", headers={"kid": key_id(stranger)}),
        jwt.encode(claims, stranger, algorithm="HS256", headers={"kid": "no-such-key"}),
        jwt.encode(claims, OLD_KEY, algorithm="HS256", headers={"kid": "no-such-key"}),
    ):
        reply = lambda_api.request("GET", "/api/v1/protected-view/", headers={"Authorization": f"Bearer {token}"})
        assert reply.status_code == 401
        assert reply.json()["detail"] == "Token is invalid or expired."


@pytest.fixture
def aws_secret(monkeypatch, settings_env):
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        arn = client.create_secret(Name="tw/jwt", SecretString=OLD_KEY)["ARN"]
        monkeypatch.setattr(runtime, "_secrets_client", lambda: client)
        monkeypatch.setattr(runtime, "_aws_keys", {})
        monkeypatch.delenv("JWT_SECRET", raising=False)
        settings_env(JWT_SECRET_ARN=arn)
        yield client, arn


def rotate(client, arn: str) -> str:
    """What Secrets Manager does on the schedule: the rotation function, step by step, for one new version."""
    function = load_function("rotate_jwt_secret")
    function._client = lambda: client  # the function's own client is for the real service
    token = str(uuid.uuid4())
    for step in ("createSecret", "setSecret", "testSecret", "finishSecret"):
        event = {"SecretId": arn, "ClientRequestToken": token, "Step": step}
        assert function.handler(event, LocalContext("rotate_jwt_secret")) == {"step": step, "version": token}
    return token


def test_in_aws_the_rotation_function_makes_a_new_current_key_and_keeps_the_old_as_previous(aws_secret):
    client, arn = aws_secret
    assert runtime.jwt_signing_keys().current == OLD_KEY
    assert runtime.jwt_signing_keys().previous == ()
    version = rotate(client, arn)
    new = client.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")
    assert new["VersionId"] == version and len(new["SecretString"]) == 64 and new["SecretString"] != OLD_KEY
    assert client.get_secret_value(SecretId=arn, VersionStage="AWSPREVIOUS")["SecretString"] == OLD_KEY
    runtime._aws_keys.clear()  # the cache's five minutes have passed
    keys = runtime.jwt_signing_keys()
    assert (keys.current, keys.previous) == (new["SecretString"], (OLD_KEY,))


def test_a_retried_rotation_step_does_not_change_the_pending_key(aws_secret):
    client, arn = aws_secret
    function = load_function("rotate_jwt_secret")
    function._client = lambda: client
    token = str(uuid.uuid4())
    event = {"SecretId": arn, "ClientRequestToken": token, "Step": "createSecret"}
    function.handler(event, LocalContext("rotate_jwt_secret"))
    pending = client.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")["SecretString"]
    function.handler(event, LocalContext("rotate_jwt_secret"))
    assert client.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")["SecretString"] == pending
    # and the current key is untouched until finishSecret
    assert client.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"] == OLD_KEY


def test_after_an_abandoned_rotation_the_next_one_makes_its_own_key_current(aws_secret):
    client, arn = aws_secret
    function = load_function("rotate_jwt_secret")
    function._client = lambda: client
    abandoned = str(uuid.uuid4())
    function.handler(  # createSecret ran, then the rotation failed and was never finished
        {"SecretId": arn, "ClientRequestToken": abandoned, "Step": "createSecret"}, LocalContext("rotate_jwt_secret")
    )
    stale = client.get_secret_value(SecretId=arn, VersionId=abandoned, VersionStage="AWSPENDING")["SecretString"]
    for _ in range(2):  # and every rotation after it goes through
        version = rotate(client, arn)
        current = client.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")
        assert current["VersionId"] == version and current["SecretString"] not in (stale, OLD_KEY)


def test_in_aws_users_stay_signed_in_across_a_rotation_even_on_an_instance_with_stale_keys(
    aws_secret, lambda_api, db, monkeypatch
):
    client, arn = aws_secret
    before = sign_in(lambda_api)
    assert kid(before["access"]) == key_id(OLD_KEY)
    rotate(client, arn)
    new_key = client.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"]
    # An instance whose cache is fresh still signs with the old key; its tokens work everywhere.
    assert protected(lambda_api, before["access"]) == 200
    # A token from an instance that already has the new key reaches this stale one: it fetches the keys
    # again (at most once every RELOAD_MIN_SECONDS) instead of signing the user out.
    claims = jwt.decode(before["access"], OLD_KEY, algorithms=["HS256"])
    from_new_instance = jwt.encode(claims, new_key, algorithm="HS256", headers={"kid": key_id(new_key)})
    monkeypatch.setattr(runtime, "RELOAD_MIN_SECONDS", 0.0)
    assert protected(lambda_api, from_new_instance) == 200
    # From now on this instance signs with the new key, and the old tokens still work.
    reply = lambda_api.request("POST", "/api/v1/token/refresh/", json_body={"refresh": before["refresh"]})
    assert reply.status_code == 200 and kid(reply.json()["access"]) == key_id(new_key)
    assert protected(lambda_api, before["access"]) == 200


def test_tokens_with_made_up_key_ids_cannot_make_every_request_call_secrets_manager(aws_secret, monkeypatch):
    client, _ = aws_secret
    calls = []
    real = client.get_secret_value

    def counted(**kwargs):
        calls.append(kwargs["VersionStage"])
        return real(**kwargs)

    monkeypatch.setattr(client, "get_secret_value", counted)
    runtime.jwt_signing_keys()
    assert calls == ["AWSCURRENT", "AWSPREVIOUS"]
    for _ in range(5):  # five tokens naming keys nobody has, within RELOAD_MIN_SECONDS
        runtime.reload_jwt_signing_keys()
    assert len(calls) == 2
