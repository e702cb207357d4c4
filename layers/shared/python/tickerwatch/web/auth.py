"""The request's user, the token policy and password hashing, and rate limits: FastAPI dependencies."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

from argon2 import PasswordHasher
from fastapi import Depends, Request

from tickerwatch import accounts, errors, throttling
from tickerwatch.data.users import User
from tickerwatch.runtime import get_database, jwt_signing_keys, reload_jwt_signing_keys
from tickerwatch.settings import get_settings
from tickerwatch.web.threads import in_thread


def token_policy() -> accounts.TokenPolicy:
    settings = get_settings()
    return accounts.TokenPolicy(
        keys=jwt_signing_keys(),
        access_ttl=timedelta(seconds=settings.access_token_ttl_seconds),
        refresh_ttl=timedelta(seconds=settings.refresh_token_ttl_seconds),
        rotate=settings.refresh_token_rotation == "rotate",
        reuse_grace=timedelta(seconds=settings.refresh_token_reuse_grace_seconds),
        reload_keys=reload_jwt_signing_keys,
    )


def password_hasher() -> PasswordHasher:
    return accounts.password_hasher(get_settings().password_hashing)


def _bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def authenticate(request: Request) -> User:
    token = _bearer_token(request)
    if token is None:
        raise errors.AuthenticationFailed("Authentication credentials were not provided.")
    return accounts.authenticate(get_database(), token_policy(), token)


def user_id_verified_here(request: Request) -> int | None:
    """The user id of an access token that verifies with the keys in hand, on the event loop: no I/O
    once the keys are cached (in AWS the first request of an instance fetches them, and Lambda runs one
    request at a time). None sends the request the thread-pool way, which answers a missing or bad token
    with its 401 (and fetches the keys again for an unknown key id) before anything else is read."""
    token = _bearer_token(request)
    if token is None:
        return None
    try:
        return accounts.verified_user_id(token_policy(), token, reload=False)
    except errors.AuthenticationFailed:
        return None


class UserToRead:
    """The user of a request whose token verified on the event loop, read from the database in the
    endpoint's own thread (``_serialised_in_its_thread``) rather than in a thread hop of its own."""

    __slots__ = ("request", "user_id")

    def __init__(self, request: Request, user_id: int) -> None:
        self.request = request
        self.user_id = user_id


async def current_user(request: Request) -> User:
    """The user the route's guard authenticated (async: no thread hop just to read it back)."""
    user = getattr(request.state, "user", None)
    return user if user is not None else await in_thread(authenticate, request)


CurrentUser = Annotated[User, Depends(current_user)]


def client_address(request: Request) -> str:
    """The caller's address: API Gateway's sourceIp in Lambda (Mangum puts it in the scope), the
    socket's peer locally. Never a header, which the client could set."""
    return request.client.host if request.client else "unknown"


def throttle(scope: str, setting: str, by: str = "address") -> Callable:
    """A dependency counting the request against the per-minute limit named by ``setting``, per
    client address or per user."""

    def check(request: Request) -> None:
        # Runs after the guard, so a per-user check finds the authenticated user on the request.
        key = str(request.state.user.id) if by == "user" else client_address(request)
        throttling.take(get_database(), scope, key, getattr(get_settings(), setting))

    check.throttle_scope = scope  # type: ignore[attr-defined]
    return check


def throttle_login(request: Request, username: str) -> None:
    settings = get_settings()
    db = get_database()
    throttling.take(db, "login-address", client_address(request), settings.rate_limit_login_per_address)
    throttling.take(db, "login-username", accounts.username_key(username), settings.rate_limit_login_per_username)
