from datetime import UTC, datetime, timedelta

import jwt
import pytest

from tickerwatch.accounts import TokenPolicy, password_problems
from tickerwatch.errors import AuthenticationFailed
from tickerwatch.signing import SigningKeys, key_id

POLICY = TokenPolicy(SigningKeys("unit-secret-" * 6), timedelta(minutes=15), timedelta(days=7))


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
    token = jwt.encode({"sub": "1", "type": "access", "iat": 0, "exp": 2**40}, POLICY.keys.current, algorithm="HS512")
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


def test_passwords_are_hashed_with_rfc_9106s_low_memory_profile_unless_a_test_suite_says_otherwise():
    from tickerwatch.accounts import password_hasher
    from tickerwatch.settings import load_settings

    hasher = password_hasher(load_settings({}).password_hashing)
    assert (hasher.type.name, hasher.time_cost, hasher.memory_cost, hasher.parallelism) == ("ID", 3, 65536, 4)
    assert hasher.hash("correct-horse-9").startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    cheap = password_hasher(load_settings({"PASSWORD_HASHING": "cheapest"}).password_hashing)
    assert cheap.hash("correct-horse-9").startswith("$argon2id$") and cheap.memory_cost < hasher.memory_cost


def test_the_test_suites_cheap_hashing_is_refused_in_lambda():
    from tickerwatch.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="PASSWORD_HASHING=cheapest is for test suites"):
        load_settings({"PASSWORD_HASHING": "cheapest", "AWS_LAMBDA_FUNCTION_NAME": "token"})
    assert load_settings({"AWS_LAMBDA_FUNCTION_NAME": "token"}).password_hashing == "rfc9106-low-memory"


@pytest.mark.parametrize("profile", ["rfc9106-low-memory", "cheapest"])
def test_an_unknown_username_is_checked_against_a_hash_with_the_hashers_own_parameters(profile):
    from tickerwatch.accounts import DUMMY_HASH, dummy_hash, password_hasher

    hasher = password_hasher(profile)
    assert not hasher.check_needs_rehash(dummy_hash(hasher))
    assert (dummy_hash(hasher) == DUMMY_HASH) == (profile == "rfc9106-low-memory")  # precomputed for production


OLD_KEY, NEW_KEY, OTHER_KEY = "old-key-" * 8, "new-key-" * 8, "someone-elses-key-" * 4


def policy(current: str, *previous: str, reload=None) -> TokenPolicy:
    return TokenPolicy(SigningKeys(current, previous), timedelta(minutes=15), timedelta(days=7), reload_keys=reload)


def test_after_a_rotation_tokens_signed_with_the_previous_key_still_work_and_new_ones_use_the_new_key():
    now = datetime.now(UTC)
    # Given tokens signed before the rotation,
    access = policy(OLD_KEY).access_token(42, now)
    assert jwt.get_unverified_header(access)["kid"] == key_id(OLD_KEY)
    # when the key rotates (the old one kept as previous),
    rotated = policy(NEW_KEY, OLD_KEY)
    # then they still verify, and new tokens are signed with the new key and name it.
    assert rotated.decode(access, "access")["sub"] == "42"
    fresh = rotated.access_token(7, now)
    assert jwt.get_unverified_header(fresh)["kid"] == key_id(NEW_KEY)
    jwt.decode(fresh, NEW_KEY, algorithms=["HS256"])
    # Once the previous key is dropped, its tokens are refused.
    with pytest.raises(AuthenticationFailed):
        policy(NEW_KEY).decode(access, "access")


def test_a_token_naming_an_unknown_key_is_refused_even_when_a_key_we_hold_would_verify_it():
    now = datetime.now(UTC)
    claims = {"sub": "42", "type": "access", "iat": int(now.timestamp()), "exp": int(now.timestamp()) + 600}
    unknown = jwt.encode(claims, OTHER_KEY, algorithm="HS256", headers={"kid": key_id(OTHER_KEY)})
    mislabelled = jwt.encode(claims, OLD_KEY, algorithm="HS256", headers={"kid": key_id(NEW_KEY)})
    for token in (unknown, mislabelled):
        with pytest.raises(AuthenticationFailed):
            policy(NEW_KEY, OLD_KEY).decode(token, "access")


def test_a_token_from_before_key_ids_is_checked_against_the_current_key_only():
    now = datetime.now(UTC)
    claims = {"sub": "42", "type": "access", "iat": int(now.timestamp()), "exp": int(now.timestamp()) + 600}
    assert policy(NEW_KEY, OLD_KEY).decode(jwt.encode(claims, NEW_KEY, algorithm="HS256"), "access")["sub"] == "42"
    with pytest.raises(AuthenticationFailed):
        policy(NEW_KEY, OLD_KEY).decode(jwt.encode(claims, OLD_KEY, algorithm="HS256"), "access")


def stale_instance() -> tuple[str, TokenPolicy, list[int]]:
    """A token signed after a rotation, the policy of an instance that cached the keys before it, and the
    record of that instance's key fetches."""
    reloads: list[int] = []

    def reload():
        reloads.append(1)
        return SigningKeys(NEW_KEY, (OLD_KEY,))

    token = policy(NEW_KEY, OLD_KEY).access_token(42, datetime.now(UTC))
    return token, policy(OLD_KEY, reload=reload), reloads


def test_an_unknown_key_id_makes_a_stale_instance_fetch_the_keys_again():
    # Given an instance that cached the keys before a rotation another instance already signs with,
    token, stale, reloads = stale_instance()
    # when it sees a token naming the new key, it reloads the keys once and accepts the token.
    assert stale.decode(token, "access")["sub"] == "42"
    assert reloads == [1]


def test_a_check_without_io_never_fetches_the_keys_again():
    # The event loop's check of a read's token must not call Secrets Manager: a token naming a key
    # this instance does not hold is left to the thread pool, which may fetch the keys again.
    token, stale, reloads = stale_instance()
    with pytest.raises(AuthenticationFailed):
        stale.decode(token, "access", reload=False)
    assert reloads == []
