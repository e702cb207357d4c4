"""The OpenAPI document: every route's error statuses, the Error schema, bearer security, links."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from tickerwatch import errors
from tickerwatch.web.error_mapping import api_routes
from tickerwatch.web.routes import GuardedRoute

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


# Where a route's answer leads, declared by the route (``openapi_extra=links(...)``) and turned into
# OpenAPI links when the document is made: clients and stateful testers follow them.
_LINKS = "x-tickerwatch-links"


def links(status: int, parameter: str, *targets: str, expression: str = "$response.body#/id") -> dict[str, Any]:
    """A route's ``openapi_extra``: its ``status`` answer's ``expression`` is the ``parameter`` of
    every operation on each target path (as the document writes it: ``/api/v1/alerts/{alert_id}/``)."""
    return {_LINKS: {"status": str(status), "parameter": parameter, "expression": expression, "targets": targets}}


def _add_links(schema: dict[str, Any]) -> None:
    paths = schema["paths"]
    for path_item in paths.values():
        for operation in path_item.values():
            spec = operation.pop(_LINKS, None)
            response = spec and operation.get("responses", {}).get(spec["status"])
            if not response:
                continue
            found = response.setdefault("links", {})
            for target in spec["targets"]:
                for linked in paths.get(target, {}).values():
                    name = linked["operationId"]
                    found[name] = {"operationId": name, "parameters": {spec["parameter"]: spec["expression"]}}


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
