"""The HTTP adapter shared by every HTTP function: app factory, error mapping, auth, Lambda handler.

Domain code raises ``tickerwatch.errors``; this module is the one place that turns those
into status codes, so every function answers errors the same way: JSON ``{"detail": ...}``,
and 400 with per-field ``errors`` for a body or query that fails validation.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from tickerwatch import accounts, errors
from tickerwatch.data.users import User
from tickerwatch.observability import instrument_http, logger
from tickerwatch.runtime import get_database, jwt_secret
from tickerwatch.settings import get_settings

STATUS_BY_ERROR: list[tuple[type[errors.DomainError], int]] = [
    (errors.InvalidInput, 400),
    (errors.AuthenticationFailed, 401),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.Unprocessable, 422),
    (errors.UpstreamUnavailable, 503),
]


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def validation_errors(exc: RequestValidationError) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            fields.setdefault("body", []).append("Request body is not valid JSON.")
            continue
        message = err.get("msg", "Invalid value.")
        if tuple(err.get("loc", ())) == ("body",) and err.get("type") in ("model_attributes_type", "dict_type"):
            # Also what a body sent without Content-Type: application/json looks like to FastAPI.
            message = "Expected a JSON object (sent with Content-Type: application/json)."
        elif err.get("type") == "missing":
            message = "This field is required."
        elif err.get("type") == "extra_forbidden":
            message = "This field is not allowed here."
        fields.setdefault(_field_name(tuple(err.get("loc", ()))), []).append(message.removeprefix("Value error, "))
    return fields


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": "Invalid input.", "errors": validation_errors(exc)}, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(errors.DomainError)
    async def _domain_error(request: Request, exc: errors.DomainError) -> JSONResponse:
        status = next((code for kind, code in STATUS_BY_ERROR if isinstance(exc, kind)), 500)
        body: dict[str, Any] = {"detail": exc.detail}
        if isinstance(exc, errors.InvalidInput):
            body["errors"] = exc.errors
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error", extra={"path": request.url.path})
        return JSONResponse({"detail": "Internal server error."}, status_code=500)


def create_app(title: str, *, docs: bool = False) -> FastAPI:
    """An app holding one function's routes. Docs are served only by the local server."""
    app = FastAPI(
        title=title,
        docs_url="/docs" if docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
    )
    install_error_handlers(app)
    return app


def lambda_handler(app: FastAPI):
    from mangum import Mangum

    return instrument_http(Mangum(app, lifespan="off", api_gateway_base_path="/"))


# ---------------------------------------------------------------- dependencies


def token_policy() -> accounts.TokenPolicy:
    settings = get_settings()
    return accounts.TokenPolicy(
        secret=jwt_secret(),
        access_ttl=timedelta(seconds=settings.access_token_ttl_seconds),
        refresh_ttl=timedelta(seconds=settings.refresh_token_ttl_seconds),
    )


_bearer = HTTPBearer(auto_error=False)


def current_user(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise errors.AuthenticationFailed("Authentication credentials were not provided.")
    return accounts.authenticate(get_database(), token_policy(), credentials.credentials)


CurrentUser = Annotated[User, Depends(current_user)]
