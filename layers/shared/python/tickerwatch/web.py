"""The HTTP adapter shared by every HTTP function: app factory, the edge's guards, error mapping,
auth, rate limits, the OpenAPI document, and the Lambda handler.

Domain code raises ``tickerwatch.errors``; this module is the one place that turns those into
status codes, so every function answers errors the same way, in Django REST framework's shape:
``{"detail": "Invalid input.", "password": ["This password is too short. ..."]}``, field messages
at the top level under the request's own field names, object-level ones under
``non_field_errors``.

Each route runs its guards in this order: authentication (401, before the body is looked at),
the body's size (413, before it is read whole), its content type (415), NUL characters (400),
rate limits (429), then validation (400) and the operation. A database that cannot be reached is
a 503 with ``Retry-After``; anything unexpected is one logged line and a 500 that keeps the
connection usable.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import hashlib
import inspect
import json
import re
import typing
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

import psycopg
from argon2 import PasswordHasher
from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from tickerwatch import accounts, errors, throttling
from tickerwatch.data.users import User
from tickerwatch.observability import instrument_http, log_context, logger
from tickerwatch.runtime import get_database, jwt_signing_keys, reload_jwt_signing_keys
from tickerwatch.settings import get_settings

STATUS_BY_ERROR: list[tuple[type[errors.DomainError], int]] = [
    (errors.InvalidInput, 400),
    (errors.AuthenticationFailed, 401),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.Unprocessable, 422),
    (errors.RateLimited, 429),
    (errors.UpstreamUnavailable, 503),
]
MAX_BODY_BYTES = 64 * 1024
MAX_OFFSET = 1_000_000
DATABASE_RETRY_AFTER_SECONDS = 5
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
NUL_MESSAGE = "Null characters are not allowed."
# A JSON string escape for U+0000 that is not itself an escaped backslash followed by "u0000".
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)


# ---------------------------------------------------------------- error bodies


def error_response(
    status: int,
    detail: str,
    fields: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse({"detail": detail, **(fields or {})}, status_code=status, headers=headers)


def validation_errors(exc: RequestValidationError) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for err in exc.errors():
        kind = err.get("type")
        loc = tuple(err.get("loc", ()))
        if kind == "json_invalid":
            fields.setdefault(errors.NON_FIELD, []).append("Request body is not valid JSON.")
            continue
        message = err.get("msg", "Invalid value.").removeprefix("Value error, ")
        if loc == ("body",) and kind in ("model_attributes_type", "dict_type", "model_type"):
            message = "Expected a JSON object."
        elif kind == "missing":
            message = "This field is required."
        elif kind == "extra_forbidden":
            message = "This field is not allowed here."
        elif err.get("input", "") is None and kind and kind.endswith("_type"):
            message = "This field may not be null."
        parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
        name = parts[0] if parts else errors.NON_FIELD
        # A nested problem keeps its place: "symbols" -> ["2: Value error ..."].
        fields.setdefault(name, []).append(f"{'.'.join(parts[1:])}: {message}" if parts[1:] else message)
    return fields


def api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """Every API route, including those of routers the local server includes (FastAPI keeps an
    included router as one entry that holds the original routes)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from api_routes(route.original_router.routes)


def _allowed_methods(request: Request) -> list[str]:
    """Every method any route serves on this path (Starlette names only the first route's)."""
    scope = {"type": "http", "path": request.url.path, "method": "\x00", "root_path": ""}
    methods: set[str] = set()
    for route in api_routes(request.app.router.routes):
        if route.matches(scope)[0] != Match.NONE:
            methods |= route.methods
    return sorted(methods | {"OPTIONS"})


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, "Invalid input.", validation_errors(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            allowed = _allowed_methods(request)
            headers["Allow"] = ", ".join(allowed)
            return error_response(405, f'Method "{request.method}" not allowed.', headers=headers)
        return error_response(exc.status_code, str(exc.detail), headers=headers)

    @app.exception_handler(errors.DomainError)
    async def _domain_error(request: Request, exc: errors.DomainError) -> JSONResponse:
        status = next((code for kind, code in STATUS_BY_ERROR if isinstance(exc, kind)), 500)
        headers: dict[str, str] = {}
        if status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        elif isinstance(exc, errors.RateLimited):
            headers["Retry-After"] = str(exc.retry_after)
        elif isinstance(exc, PayloadTooLarge):
            headers["Connection"] = "close"  # the rest of the body was never read
            status = 413
        elif isinstance(exc, UnsupportedMediaType):
            status = 415
        return error_response(status, exc.detail, exc.fields, headers)

    @app.exception_handler(psycopg.OperationalError)
    async def _database_down(request: Request, exc: psycopg.OperationalError) -> JSONResponse:
        # One line per failed request and no traceback: an outage must not flood the logs.
        logger.warning(
            "database unavailable",
            extra={"path": request.url.path, "error": str(exc).strip().splitlines()[0][:200] if str(exc) else ""},
        )
        return error_response(
            503,
            "The database is unavailable; try again shortly.",
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )


class PayloadTooLarge(errors.DomainError):
    def __init__(self) -> None:
        super().__init__(f"Request body is larger than {MAX_BODY_BYTES // 1024} KiB.")


class UnsupportedMediaType(errors.DomainError):
    def __init__(self, content_type: str) -> None:
        super().__init__(f'Unsupported media type "{content_type}" in request; send application/json.')


class ErrorBoundary:
    """Catches what nothing else handled: logged once, answered as JSON, and the connection kept.

    (Starlette's outermost middleware logs and re-raises, which makes uvicorn log it again and drop
    the keep-alive connection.)
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception:
            logger.exception("unhandled error", extra={"method": scope.get("method"), "path": scope.get("path")})
            if started:
                raise
            response = error_response(500, "Internal server error.")
            await response(scope, receive, send)


# ---------------------------------------------------------------- routes


def _depends_on(dependant, call: Callable) -> bool:
    return any(d.call is call or _depends_on(d, call) for d in dependant.dependencies)


class GuardedRoute(APIRoute):
    """A route whose guards run before FastAPI reads and validates the body."""

    def __init__(self, path: str, endpoint: Callable, **kwargs: Any) -> None:
        runs_in_thread = not inspect.iscoroutinefunction(endpoint)
        if runs_in_thread:
            endpoint = _serialised_in_its_thread(self, endpoint)
        super().__init__(path, endpoint, **kwargs)
        self.sets_response_fields = _takes_response(self.dependant)
        self.requires_auth = _depends_on(self.dependant, current_user)
        # A read whose endpoint runs in the thread pool and needs nothing but the user before it runs:
        # the token is verified on the event loop and the user read in the endpoint's own thread, one
        # hop to the pool instead of two.
        self.reads_user_in_endpoint = (
            self.requires_auth and runs_in_thread and self.methods <= {"GET", "HEAD"} and _only_user(self.dependant)
        )
        self.expects_json = self.body_field is not None
        self.discriminator, self.union_tags = _discriminated_union(self.body_field)
        self.function_name: str | None = None  # set by the local server, which serves every function

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def guarded(request: Request):
            if self.function_name:
                with log_context(function_name=self.function_name):
                    return await checked(request)
            return await checked(request)

        async def checked(request: Request):
            if self.reads_user_in_endpoint and (user_id := _user_id_verified_here(request)) is not None:
                request.state.user = UserToRead(request, user_id)
            elif self.requires_auth:
                request.state.user = await in_thread(_authenticate, request)
            _refuse_nul_in_url(request)
            if request.method in BODY_METHODS:
                await _read_body(request, self.expects_json)
            try:
                return await handler(request)
            except RequestValidationError as exc:
                if not self.union_tags:
                    raise
                raise RequestValidationError([self._untagged(e) for e in exc.errors()]) from None

        return guarded

    def _untagged(self, error: dict[str, Any]) -> dict[str, Any]:
        """Report a discriminated body's errors under the request's field names, not the union's tag."""
        loc = tuple(error.get("loc", ()))
        if error.get("type") in ("union_tag_invalid", "union_tag_not_found"):
            if error["type"] == "union_tag_not_found":
                return {**error, "loc": ("body", self.discriminator), "type": "missing"}
            expected = ", ".join(sorted(self.union_tags))
            return {**error, "loc": ("body", self.discriminator), "msg": f"Must be one of: {expected}."}
        if len(loc) > 2 and loc[0] == "body" and loc[1] in self.union_tags:
            if error.get("type") == "none_required":
                return {**error, "loc": ("body", *loc[2:]), "msg": f"This field does not apply to {loc[1]} alerts."}
            return {**error, "loc": ("body", *loc[2:])}
        return error


def _serialised_in_its_thread(route: GuardedRoute, endpoint: Callable) -> Callable:
    """A sync endpoint whose answer is exactly its route's response model is serialised where it ran.
    FastAPI would validate that model again in another hop to the thread pool (a no-op for an instance
    of the model's own class) before serialising it: about 0.6 ms for a page of 20 alerts. Anything
    else (a dict, a Response, a route that sets its status or headers through a Response parameter) goes
    FastAPI's way. The endpoint runs in ``in_thread``'s pool, not FastAPI's (the wrapper is async)."""

    def serialised_here(*args: Any, **kwargs: Any) -> Any:
        for name, value in kwargs.items():
            if type(value) is UserToRead:
                kwargs[name] = value.request.state.user = accounts.token_user(get_database(), value.user_id)
        answer = endpoint(*args, **kwargs)
        field = route.response_field
        if field is None or route.sets_response_fields or not _is_exactly(answer, route.response_model):
            return answer
        body = field.serialize_json(
            answer,
            include=route.response_model_include,
            exclude=route.response_model_exclude,
            by_alias=route.response_model_by_alias,
            exclude_unset=route.response_model_exclude_unset,
            exclude_defaults=route.response_model_exclude_defaults,
            exclude_none=route.response_model_exclude_none,
        )
        return Response(body, status_code=route.status_code or 200, media_type="application/json")

    @functools.wraps(endpoint)
    async def serialised(*args: Any, **kwargs: Any) -> Any:
        return await in_thread(serialised_here, *args, **kwargs)

    return serialised


# Blocking work of a request (a sync endpoint, reading the user) runs here: asyncio's executor with the
# request's context (its log keys) copied in. Starlette's run_in_threadpool (anyio) costs 65 us of CPU a
# hop on the development machine, this 27 (bench/thread_hop.py); 40 threads, as anyio's default limit.
_THREADS = concurrent.futures.ThreadPoolExecutor(max_workers=40, thread_name_prefix="request")


async def in_thread(function: Callable, *args: Any, **kwargs: Any) -> Any:
    call = functools.partial(contextvars.copy_context().run, function, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_THREADS, call)


def _only_user(dependant) -> bool:
    """Whether the user is the endpoint's only dependency (one that read it before the endpoint ran
    would get a ``UserToRead``)."""
    return all(d.call is current_user and not d.dependencies for d in dependant.dependencies)


def _takes_response(dependant) -> bool:
    """Whether the endpoint or any of its dependencies sets the status or headers through a Response
    parameter, which FastAPI merges only into an answer it serialises itself."""
    return bool(dependant.response_param_name) or any(_takes_response(d) for d in dependant.dependencies)


def _is_exactly(answer: Any, model: Any) -> bool:
    """An instance of the model class itself, or a list of them for ``list[Model]``."""
    if isinstance(model, type) and issubclass(model, BaseModel):
        return type(answer) is model
    if typing.get_origin(model) is list and isinstance(answer, list):
        (item,) = typing.get_args(model)
        return isinstance(item, type) and issubclass(item, BaseModel) and all(type(a) is item for a in answer)
    return False


def _discriminated_union(body_field: Any) -> tuple[str | None, set[str]]:
    """The discriminator and its tags when the body is a union discriminated by a field."""
    info = getattr(body_field, "field_info", None)
    discriminator = getattr(info, "discriminator", None)
    if not isinstance(discriminator, str):
        return None, set()
    tags = set()
    for member in typing.get_args(info.annotation):
        tag_field = getattr(member, "model_fields", {}).get(discriminator)
        if tag_field is not None:
            tags |= set(typing.get_args(tag_field.annotation))
    return discriminator, tags


def _refuse_nul_in_url(request: Request) -> None:
    problems: dict[str, list[str]] = {}
    for name, value in [*request.path_params.items(), *request.query_params.multi_items()]:
        if "\x00" in str(value):
            problems[name] = [NUL_MESSAGE]
    if problems:
        raise errors.InvalidInput(problems)


async def _read_body(request: Request, expects_json: bool) -> None:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLarge()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise PayloadTooLarge()
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # FastAPI reads the cached body instead of the (consumed) stream
    if not body.strip():
        return
    if expects_json:
        content_type = request.headers.get("content-type", "")
        media = content_type.split(";", 1)[0].strip().lower()
        if not (media == "application/json" or (media.startswith("application/") and media.endswith("+json"))):
            raise UnsupportedMediaType(content_type or "none")
    if _JSON_NUL.search(body):
        raise errors.InvalidInput(_nul_fields(body))
    if expects_json:
        # FastAPI reads the cached value instead of parsing the body again
        request._json = parse_json_body(body)


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _object_without_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for key, item in pairs:
        if key in value:
            raise _DuplicateKey(key)
        value[key] = item
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json_body(body: bytes) -> Any:
    """The one body grammar of every endpoint: RFC 8259 JSON in UTF-8 without a byte-order mark, no
    key twice in an object (which one a parser keeps is undefined), no NaN or Infinity. Anything else
    is a 400 under ``non_field_errors``."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.InvalidInput({errors.NON_FIELD: ["Request body must be JSON encoded as UTF-8."]}) from None
    try:
        return json.loads(text, object_pairs_hook=_object_without_repeats, parse_constant=_no_constant)
    except _DuplicateKey as repeated:
        message = f"The key '{repeated.key}' appears more than once."
        raise errors.InvalidInput({errors.NON_FIELD: [message]}) from None
    except (ValueError, RecursionError):
        raise errors.InvalidInput({errors.NON_FIELD: ["Request body is not valid JSON."]}) from None


def _nul_fields(body: bytes) -> dict[str, list[str]]:
    try:
        value = json.loads(body)
    except ValueError:
        return {errors.NON_FIELD: [NUL_MESSAGE]}

    def has_nul(v: Any) -> bool:
        if isinstance(v, str):
            return "\x00" in v
        if isinstance(v, dict):
            return any(has_nul(k) or has_nul(x) for k, x in v.items())
        if isinstance(v, list):
            return any(has_nul(x) for x in v)
        return False

    if isinstance(value, dict):
        names = [str(k).replace("\x00", "") or errors.NON_FIELD for k, v in value.items() if has_nul(k) or has_nul(v)]
        if names:
            return {name: [NUL_MESSAGE] for name in names}
    return {errors.NON_FIELD: [NUL_MESSAGE]}


def create_app(title: str, *, docs: bool = False) -> FastAPI:
    """An app holding one function's routes. Docs are served only by the local server."""
    app = FastAPI(
        title=title,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.router.route_class = GuardedRoute
    install_error_handlers(app)
    app.add_middleware(ErrorBoundary)
    app.openapi = lambda: openapi_document(app)  # type: ignore[method-assign]
    return app


# Polled resources: the client revalidates each time (no-cache) and gets a 304 while nothing changed.
REVALIDATE = "private, no-cache"
NOT_MODIFIED = {304: {"description": "Not modified: the `If-None-Match` ETag is still current; no body."}}


def _etag_matches(header: str | None, etag: str) -> bool:
    """If-None-Match uses the weak comparison (RFC 9110 13.1.2): W/ is ignored, `*` matches."""
    if not header:
        return False
    tags = [t.strip() for t in header.split(",")]
    return "*" in tags or etag in (t.removeprefix("W/") for t in tags)


def conditional_json(request: Request, payload: BaseModel) -> Response:
    """The payload with an ETag that is the hash of its JSON (prices and names included, so any change
    shows), or 304 without a body when the client's If-None-Match already names it."""
    body = payload.model_dump_json().encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": REVALIDATE}
    if _etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def lambda_handler(app: FastAPI):
    from mangum import Mangum

    return instrument_http(Mangum(app, lifespan="off", api_gateway_base_path="/"))


# ---------------------------------------------------------------- dependencies


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


def _authenticate(request: Request) -> User:
    token = _bearer_token(request)
    if token is None:
        raise errors.AuthenticationFailed("Authentication credentials were not provided.")
    return accounts.authenticate(get_database(), token_policy(), token)


def _user_id_verified_here(request: Request) -> int | None:
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
    return user if user is not None else await in_thread(_authenticate, request)


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


# ---------------------------------------------------------------- strict request types


def _iso_date(value: Any) -> Any:
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("Enter a date as YYYY-MM-DD.")
    if not isinstance(value, (str, date)):
        raise ValueError("Enter a date as YYYY-MM-DD.")
    return value


def _iso_datetime(value: Any) -> Any:
    if not isinstance(value, (str, datetime)):
        raise ValueError("Enter a date and time in ISO 8601, with a time zone.")
    return value


def _query_bool(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError("Must be true or false.")


def _json_int(value: Any) -> Any:
    """JSON's integers: 7 or 7.0 (the same number in JSON), never "7" or true."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("Enter a whole number.")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("Enter a whole number.")
        return int(value)
    return value


def positive_decimal_pattern(max_value: int, places: int) -> str:
    """A regex for decimal strings in (0, max_value] with at most ``places`` decimals (max_value a
    power of ten): what a schema can say and the server checks, word for word."""
    digits = len(str(max_value)) - 1
    fraction = "|".join(f"0{{{k}}}[1-9][0-9]{{0,{places - k - 1}}}" for k in range(places))
    return (
        rf"^(?:0*[1-9][0-9]{{0,{digits - 1}}}(?:\.[0-9]{{1,{places}}})?"
        rf"|0*{max_value}(?:\.0{{1,{places}}})?"
        rf"|0*\.(?:{fraction}))$"
    )


def positive_decimal(max_value: int, places: int, description: str, *, exact: bool = False) -> Any:
    """A positive decimal sent as a JSON number or a numeric string, at most ``max_value``, kept to
    ``places`` decimals. Checked before rounding, so what the schema refuses the server refuses.
    ``exact``: a number with more decimals is refused too, never rounded (money and quantities)."""
    pattern = positive_decimal_pattern(max_value, places)
    smallest = Decimal(1).scaleb(-places)
    quantum = smallest

    def parse(value: Any) -> Decimal:
        if value is None:
            raise ValueError("This field may not be null.")
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError("Enter a number.")
        if isinstance(value, str):
            if not re.fullmatch(pattern, value):
                raise ValueError(
                    f"Enter a number greater than 0 and at most {max_value}, with at most {places} decimals."
                )
            number = Decimal(value)
        else:
            number = Decimal(str(value))
            if not number.is_finite() or not smallest <= number <= max_value:
                raise ValueError(f"Ensure this value is at least {smallest} and at most {max_value}.")
            if exact and number.as_tuple().exponent < -places:
                raise ValueError(f"Ensure that there are no more than {places} decimal places.")
        return number.quantize(quantum, rounding=ROUND_HALF_UP)

    schema = {
        "description": description,
        "anyOf": [
            {"type": "number", "minimum": float(smallest), "maximum": max_value},
            {"type": "string", "pattern": pattern},
        ],
    }
    return Annotated[Decimal, BeforeValidator(parse), WithJsonSchema(schema)]


def _symbol(value: str) -> str:
    from tickerwatch.market_data import SYMBOL_RE

    if not SYMBOL_RE.fullmatch(value.upper()):  # match() would let "TSLA\n" through
        raise ValueError(f"'{value}' is not a valid ticker symbol.")
    return value


# A ticker as clients send it (any case, surrounding spaces ignored); the schema states the pattern,
# the validator says what is wrong in words.
TickerSymbol = Annotated[
    str,
    Field(min_length=1, max_length=15, json_schema_extra={"pattern": r"^[A-Za-z0-9][A-Za-z0-9.^=-]{0,14}$"}),
    AfterValidator(_symbol),
]


def json_int(ge: int, le: int) -> Any:
    """An integer in [ge, le] as JSON has them: 7 or 7.0, never "7" or true."""
    return Annotated[int, Field(ge=ge, le=le), BeforeValidator(_json_int)]


# A PATCH field that may be left out but not cleared: the OpenAPI document does not offer null (the
# domain answers a null with 400, naming the field).
NotNull = SkipJsonSchema[None]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_datetime)]
QueryBool = Annotated[bool, BeforeValidator(_query_bool)]
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
ResourceId = Annotated[int, Path(ge=1, le=2**63 - 1)]


# ---------------------------------------------------------------- OpenAPI

ERROR_SCHEMA = {
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {"type": "string", "description": "What went wrong, in a sentence."},
        errors.NON_FIELD: {"type": "array", "items": {"type": "string"}},
    },
    "additionalProperties": {
        "type": "array",
        "items": {"type": "string"},
        "description": "Messages for the request field of that name.",
    },
}
ERROR_DESCRIPTIONS = {
    400: "Invalid input: `detail`, and each problem field's messages under its own name.",
    401: "Missing, invalid or expired credentials.",
    404: "Not found (or another user's).",
    409: "Conflicts with what exists.",
    413: "Body larger than 64 KiB.",
    415: "Body is not application/json.",
    422: "Valid input that cannot be served as asked.",
    429: "Rate limited; retry after `Retry-After` seconds.",
    503: "A dependency (the database, the market data provider) is unavailable; retry after `Retry-After`.",
}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}


def documented_errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Extra error statuses a route sends beyond those every route of its kind sends."""
    return {code: {"description": ERROR_DESCRIPTIONS[code]} for code in codes}


def _route_errors(route: GuardedRoute) -> set[int]:
    codes = {503}
    if route.dependant.query_params or route.dependant.path_params or route.body_field is not None:
        codes.add(400)
    if route.requires_auth:
        codes.add(401)
    if route.body_field is not None:
        codes |= {413, 415}
    if any(getattr(d.call, "throttle_scope", None) for d in route.dependant.dependencies):
        codes.add(429)
    codes |= {int(c) for c in route.responses if str(c).isdigit() and int(c) >= 400}
    return codes


# Where a created resource's id leads (OpenAPI links: clients and stateful testers follow them).
LINKS = {
    ("/api/v1/alerts/", "post", "201"): ("alert_id", "$response.body#/id", "/api/v1/alerts/{alert_id}/"),
    ("/api/v1/orders/", "post", "201"): ("order_id", "$response.body#/id", "/api/v1/orders/{order_id}/"),
    ("/api/v1/predict/", "post", "200"): (
        "prediction_id",
        "$response.body#/id",
        "/api/v1/predictions/{prediction_id}/",
    ),
}


def _add_links(schema: dict[str, Any]) -> None:
    paths = schema["paths"]
    for (path, method, status), (parameter, expression, target) in LINKS.items():
        response = paths.get(path, {}).get(method, {}).get("responses", {}).get(status)
        if response is None:
            continue
        links = response.setdefault("links", {})
        for prefix in ("", "pause/", "resume/"):
            for operation in paths.get(target + prefix, {}).values():
                name = operation["operationId"]
                links[name] = {"operationId": name, "parameters": {parameter: expression}}


def openapi_document(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
    schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        schema["components"]["schemas"].pop(name, None)
    for route in api_routes(app.routes):
        if not isinstance(route, GuardedRoute) or not route.include_in_schema:
            continue
        path = route.path_format
        for method in route.methods:
            operation = schema["paths"].get(path, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            declared_models = {str(c) for c, spec in route.responses.items() if "model" in spec}
            for code in sorted(_route_errors(route)):
                if str(code) in declared_models:
                    continue  # the route answers this status with a body of its own (health's 503)
                entry = {
                    "description": ERROR_DESCRIPTIONS[code],
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                }
                if code in (429, 503):
                    entry["headers"] = RETRY_AFTER
                responses[str(code)] = entry
            if route.requires_auth:
                operation["security"] = [{"bearer": []}]
    schema["components"].setdefault("securitySchemes", {})["bearer"] = {"type": "http", "scheme": "bearer"}
    _add_links(schema)
    app.openapi_schema = schema
    return schema
