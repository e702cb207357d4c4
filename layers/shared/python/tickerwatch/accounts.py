"""Accounts and tokens: registration rules, password hashing, JWT issue/rotation/revocation."""

from __future__ import annotations

import contextlib
import functools
import re
import time
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

from tickerwatch.data import users
from tickerwatch.data.users import User
from tickerwatch.db import Database
from tickerwatch.errors import AuthenticationFailed, Conflict, InvalidInput
from tickerwatch.observability import logger, metrics
from tickerwatch.signing import SigningKeys

USERNAME_PATTERN = r"^[\w.@+-]+$"
USERNAME_MIN, USERNAME_MAX = 3, 150
PASSWORD_MIN, PASSWORD_MAX = 8, 4096
ALGORITHM = "HS256"
BAD_CREDENTIALS = "No active account found with the given credentials."
BAD_TOKEN = "Token is invalid or expired."

# argon2id by the PASSWORD_HASHING setting; "cheapest" is argon2-cffi's profile for test suites.
HASHING_PROFILES = {"rfc9106-low-memory": profiles.RFC_9106_LOW_MEMORY, "cheapest": profiles.CHEAPEST}


@functools.cache
def password_hasher(profile: str) -> PasswordHasher:
    return PasswordHasher.from_parameters(HASHING_PROFILES[profile])


# A real hash with the production parameters, checked against when the username is unknown so
# that answer takes as long as a wrong password. Precomputed: hashing it at cold start costs 100 ms.
DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$33c8tg3YfJvlwVG74aN1IA$eJqIhdedy2WZryRQvCBTorVIbaiRSzMsa2b1wQkjjBY"


def dummy_hash(hasher: PasswordHasher) -> str:
    """A hash with this hasher's parameters, so an unknown name costs what a wrong password does."""
    return DUMMY_HASH if not hasher.check_needs_rehash(DUMMY_HASH) else _computed_dummy_hash(hasher)


@functools.lru_cache(maxsize=4)
def _computed_dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash(uuid.uuid4().hex)


# Scripts whose letters look alike: a name mixing them is a look-alike of someone else's.
CONFUSABLE_SCRIPTS = {"LATIN", "CYRILLIC", "GREEK"}


def normalise_username(username: str) -> str:
    """What is stored and shown: Unicode NFKC (fullwidth and compatibility forms folded), as Django does."""
    return unicodedata.normalize("NFKC", username)


def username_key(username: str) -> str:
    """What makes two usernames the same account: NFKC, then case folding."""
    return normalise_username(username).casefold()


def username_problems(username: str) -> list[str]:
    name = normalise_username(username)
    problems = []
    if not USERNAME_MIN <= len(name) <= USERNAME_MAX:
        problems.append(f"Ensure this field has between {USERNAME_MIN} and {USERNAME_MAX} characters.")
    if not re.fullmatch(USERNAME_PATTERN, name):
        problems.append(
            "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."
        )
    scripts = {unicodedata.name(c, "").split(" ", 1)[0] for c in name if c.isalpha()} & CONFUSABLE_SCRIPTS
    if len(scripts) > 1:
        problems.append(f"A username may not mix {' and '.join(sorted(s.title() for s in scripts))} letters.")
    return problems


def password_problems(password: str, username: str) -> list[str]:
    problems = []
    if len(password) < PASSWORD_MIN:
        problems.append(f"This password is too short. It must contain at least {PASSWORD_MIN} characters.")
    if len(password) > PASSWORD_MAX:
        problems.append(f"Ensure this field has no more than {PASSWORD_MAX} characters.")
    if password.isdigit():
        problems.append("This password is entirely numeric.")
    if password.casefold() == username.casefold():
        problems.append("The password is too similar to the username.")
    return problems


def register(db: Database, hasher: PasswordHasher, username: str, email: str, password: str) -> User:
    problems = {"username": username_problems(username), "password": password_problems(password, username)}
    problems = {field: messages for field, messages in problems.items() if messages}
    if problems:
        raise InvalidInput(problems)
    username = normalise_username(username)
    key = username_key(username)
    password_hash = hasher.hash(password)

    def work(conn):
        taken = users.find_duplicates(conn, key, email)
        if not taken:
            try:
                return users.insert_user(conn, username, key, email.strip(), password_hash)
            except users.DuplicateUser as dup:  # lost a race with a concurrent registration
                taken = [dup.field]
        raise Conflict(
            f"A user with that {' and '.join(taken)} already exists.",
            {field: [f"A user with that {field} already exists."] for field in taken},
        )

    user = db.run(work)
    metrics.add_metric(name="UserRegistered", unit="Count", value=1)
    logger.info("user registered", extra={"user_id": user.id})
    return user


# ---------------------------------------------------------------- tokens


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str


@dataclass(frozen=True)
class TokenPolicy:
    keys: SigningKeys
    access_ttl: timedelta
    refresh_ttl: timedelta
    rotate: bool = True  # False: a refresh returns an access token and the refresh token stays valid
    reuse_grace: timedelta = timedelta(seconds=30)
    # Fetches the keys again (AWS: a rotation since they were cached); called on an unknown key id.
    reload_keys: Callable[[], SigningKeys] | None = None

    def _encode(self, claims: dict[str, Any], ttl: timedelta, now: datetime) -> str:
        body = {**claims, "iat": int(now.timestamp()), "exp": int((now + ttl).timestamp())}
        return jwt.encode(body, self.keys.current, algorithm=ALGORITHM, headers={"kid": self.keys.current_id})

    def access_token(self, user_id: int, now: datetime) -> str:
        return self._encode({"sub": str(user_id), "type": "access", "jti": uuid.uuid4().hex}, self.access_ttl, now)

    def refresh_token(self, user_id: int, jti: uuid.UUID, family: uuid.UUID, now: datetime) -> str:
        claims = {"sub": str(user_id), "type": "refresh", "jti": str(jti), "fam": str(family)}
        return self._encode(claims, self.refresh_ttl, now)

    def decode(self, token: str, expected_type: str, reload: bool = True) -> dict[str, Any]:
        """The token's claims; ``reload=False`` never fetches the keys again (no I/O)."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = self.keys.for_id(kid)
            if key is None and reload and self.reload_keys is not None:
                key = self.reload_keys().for_id(kid)
            if key is None:
                raise AuthenticationFailed(BAD_TOKEN)
            claims = _verified_claims(token, key)
        except jwt.PyJWTError:
            raise AuthenticationFailed(BAD_TOKEN) from None
        # A token verified earlier is served from the cache until it expires; expiry is checked here.
        if claims["exp"] <= time.time() or claims.get("type") != expected_type:
            raise AuthenticationFailed(BAD_TOKEN)
        return claims


@functools.lru_cache(maxsize=8192)
def _verified_claims(token: str, secret: str) -> dict[str, Any]:
    """Signature and claims checked once per (token, key): a client sends the same access token with
    every request for 15 minutes, and verifying it is most of what a cheap request costs.
    Failures raise and are not cached. algorithms is pinned, so "alg: none" and RS/HS confusion are
    rejected by pyjwt."""
    claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "iat", "sub", "type"]})
    if not _as_issued(claims):
        raise jwt.InvalidTokenError("claims not as issued")
    return claims


# What we issue, exactly: a user id in ASCII digits without sign, spaces or leading zeros; times as
# JSON integers. int() would read " 2 ", "+2" or Arabic-Indic digits as user 2, and pyjwt checks a
# numeric string's expiry and lets it through.
_USER_ID = re.compile(r"[1-9][0-9]{0,18}", re.ASCII)


def _as_issued(claims: dict[str, Any]) -> bool:
    times_ok = all(type(claims[name]) is int for name in ("exp", "iat"))
    return times_ok and isinstance(claims["sub"], str) and _USER_ID.fullmatch(claims["sub"]) is not None


def _new_pair(conn, policy: TokenPolicy, user_id: int, family: uuid.UUID, now: datetime) -> TokenPair:
    jti = uuid.uuid4()
    users.insert_refresh_token(conn, jti, family, user_id, now + policy.refresh_ttl)
    return TokenPair(policy.access_token(user_id, now), policy.refresh_token(user_id, jti, family, now))


def obtain_tokens(db: Database, policy: TokenPolicy, hasher: PasswordHasher, username: str, password: str) -> TokenPair:
    creds = db.one(lambda conn: users.get_credentials(conn, username_key(username)))
    if creds is None:
        with contextlib.suppress(VerificationError):
            hasher.verify(dummy_hash(hasher), password)
        raise AuthenticationFailed(BAD_CREDENTIALS)
    try:
        hasher.verify(creds.password_hash, password)
    except (VerificationError, InvalidHashError):
        metrics.add_metric(name="LoginFailed", unit="Count", value=1)
        raise AuthenticationFailed(BAD_CREDENTIALS) from None

    now = datetime.now(UTC)

    def work(conn):
        if hasher.check_needs_rehash(creds.password_hash):
            users.update_password_hash(conn, creds.user.id, hasher.hash(password))
        return _new_pair(conn, policy, creds.user.id, uuid.uuid4(), now)

    return db.run(work)


def refresh_tokens(db: Database, policy: TokenPolicy, refresh_token: str) -> TokenPair | str:
    """A new pair (rotation), or with rotation off only a new access token (the refresh token stays valid)."""
    claims = policy.decode(refresh_token, "refresh")
    jti = _uuid_claim(claims, "jti")
    now = datetime.now(UTC)

    if not policy.rotate:
        user_id = db.one(lambda conn: users.live_refresh_token_user(conn, jti))
        if user_id is None:
            raise AuthenticationFailed(BAD_TOKEN)
        return policy.access_token(user_id, now)

    def work(conn):
        use = users.use_refresh_token(conn, jti, policy.reuse_grace)
        if use.outcome in ("rotated", "retried"):
            assert use.family_id is not None and use.user_id is not None
            return _new_pair(conn, policy, use.user_id, use.family_id, now)
        if use.outcome == "reused" and use.family_id is not None:
            revoked = users.revoke_family(conn, use.family_id)
            logger.warning(
                "refresh token reused; family revoked",
                extra={"user_id": use.user_id, "family_id": str(use.family_id), "revoked": revoked},
            )
            metrics.add_metric(name="RefreshTokenReuse", unit="Count", value=1)
        return None

    pair = db.run(work)  # the revocation commits before the 401 goes out
    if pair is None:
        raise AuthenticationFailed(BAD_TOKEN)
    return pair


def logout(db: Database, policy: TokenPolicy, refresh_token: str) -> None:
    claims = policy.decode(refresh_token, "refresh")
    jti = _uuid_claim(claims, "jti")

    def work(conn):
        family = users.family_of(conn, jti)
        if family is None:
            return False
        users.revoke_family(conn, family)
        return True

    if not db.run(work):
        raise AuthenticationFailed(BAD_TOKEN)


def authenticate(db: Database, policy: TokenPolicy, access_token: str) -> User:
    return token_user(db, verified_user_id(policy, access_token))


def verified_user_id(policy: TokenPolicy, access_token: str, reload: bool = True) -> int:
    """The id an access token names once it verifies (``reload=False``: without fetching the keys)."""
    claims = policy.decode(access_token, "access", reload=reload)
    try:
        return int(claims["sub"])
    except (TypeError, ValueError):
        raise AuthenticationFailed(BAD_TOKEN) from None


def token_user(db: Database, user_id: int) -> User:
    """The user a verified token names; one deleted since the token was issued is refused."""
    user = db.one(lambda conn: users.get_user(conn, user_id))
    if user is None:
        raise AuthenticationFailed(BAD_TOKEN)
    return user


def update_preferences(db: Database, user_id: int, email_notifications: bool) -> User:
    user = db.one(lambda conn: users.set_email_notifications(conn, user_id, email_notifications))
    if user is None:
        raise AuthenticationFailed(BAD_TOKEN)
    return user


def _uuid_claim(claims: dict[str, Any], name: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(claims[name]))
    except (KeyError, ValueError):
        raise AuthenticationFailed(BAD_TOKEN) from None
