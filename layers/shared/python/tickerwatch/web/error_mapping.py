"""Error mapping, in one place: domain errors, validation errors, HTTP errors and an unreachable
database become status codes and Django REST framework's error shape; anything else is one logged
line and a 500."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from tickerwatch import errors
from tickerwatch.observability import logger
from tickerwatch.web.body import PayloadTooLarge, UnsupportedMediaType

STATUS_BY_ERROR: list[tuple[type[errors.DomainError], int]] = [
    (errors.InvalidInput, 400),
    (errors.AuthenticationFailed, 401),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.Unprocessable, 422),
    (errors.RateLimited, 429),
    (errors.UpstreamUnavailable, 503),
]
DATABASE_RETRY_AFTER_SECONDS = 5


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


def allowed_methods(request: Request) -> list[str]:
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
            allowed = allowed_methods(request)
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


_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")


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
        if _CONTROL_CHARACTER.search(scope.get("path", "")):
            # No resource's path holds one, and routing would misread it: Python's `$` matches before a
            # trailing newline, so `/webhooks/%0A/` was answered 405 as if it named the list.
            await error_response(404, "Not found.")(scope, receive, send)
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
