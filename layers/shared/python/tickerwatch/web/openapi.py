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
