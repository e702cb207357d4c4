"""An app holding one function's routes, conditional answers for polled resources, and the Lambda
handler."""

from __future__ import annotations

import hashlib

from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import BaseModel

from tickerwatch.observability import instrument_http
from tickerwatch.web.error_mapping import ErrorBoundary, install_error_handlers
from tickerwatch.web.openapi import openapi_document
from tickerwatch.web.routes import GuardedRoute


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
