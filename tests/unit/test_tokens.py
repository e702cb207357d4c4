from datetime import UTC, datetime, timedelta

import jwt
import pytest

from tickerwatch.accounts import TokenPolicy, password_problems
from tickerwatch.errors import AuthenticationFailed

POLICY = TokenPolicy("unit-secret-" * 6, timedelta(minutes=15), timedelta(days=7))


def test_access_token_round_trip():
    now = datetime.now(UTC)
    claims = POLICY.decode(POLICY.access_token(42, now), "access")
    assert claims["sub"] == "42"
    assert claims["exp"] - claims["iat"] == 900


def test_wrong_type_is_rejected():
    import uuid

    token = POLICY.refresh_token(42, uuid.uuid4(), uuid.uuid4(), datetime.now(UTC))
    with pytest.raises(AuthenticationFailed):
        POLICY.decode(token, "access")


def test_expired_token_is_rejected():
    token = POLICY.access_token(42, datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(AuthenticationFailed):
        POLICY.decode(token, "access")


def test_other_algorithm_is_rejected():
    token = jwt.encode({"sub": "1", "type": "access", "iat": 0, "exp": 2**40}, POLICY.secret, algorithm="HS512")
    with pytest.raises(AuthenticationFailed):
        POLICY.decode(token, "access")


@pytest.mark.parametrize(
    ("password", "username", "count"),
    [
        ("correct-horse-9", "alice", 0),
        ("short", "alice", 1),
        ("12345678", "bob", 1),
        ("1234", "bob", 2),
        ("AliceAlice", "alicealice", 1),
    ],
)
def test_password_rules(password, username, count):
    assert len(password_problems(password, username)) == count


def test_dummy_hash_uses_current_parameters():
    # If argon2 parameters change, the unknown-user path must still cost a full verification.
    from argon2 import PasswordHasher

    from tickerwatch.accounts import DUMMY_HASH

    assert not PasswordHasher().check_needs_rehash(DUMMY_HASH)
