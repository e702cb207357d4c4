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

from tickerwatch.web.app import NOT_MODIFIED, REVALIDATE, conditional_json, create_app, lambda_handler
from tickerwatch.web.auth import (
    CurrentUser,
    client_address,
    current_user,
    password_hasher,
    throttle,
    throttle_login,
    token_policy,
)
from tickerwatch.web.body import MAX_BODY_BYTES, parse_json_body
from tickerwatch.web.error_mapping import DATABASE_RETRY_AFTER_SECONDS, STATUS_BY_ERROR, error_response
from tickerwatch.web.openapi import RETRY_AFTER, documented_errors, links, openapi_document
from tickerwatch.web.request_types import (
    MAX_OFFSET,
    IsoDate,
    IsoDateTime,
    Limit,
    NotNull,
    Offset,
    QueryBool,
    ResourceId,
    TickerSymbol,
    json_int,
    positive_decimal,
    positive_decimal_pattern,
)
from tickerwatch.web.routes import GuardedRoute
from tickerwatch.web.threads import in_thread

__all__ = [
    "DATABASE_RETRY_AFTER_SECONDS",
    "MAX_BODY_BYTES",
    "MAX_OFFSET",
    "NOT_MODIFIED",
    "RETRY_AFTER",
    "REVALIDATE",
    "STATUS_BY_ERROR",
    "CurrentUser",
    "GuardedRoute",
    "IsoDate",
    "IsoDateTime",
    "Limit",
    "NotNull",
    "Offset",
    "QueryBool",
    "ResourceId",
    "TickerSymbol",
    "client_address",
    "conditional_json",
    "create_app",
    "current_user",
    "documented_errors",
    "error_response",
    "in_thread",
    "json_int",
    "lambda_handler",
    "links",
    "openapi_document",
    "parse_json_body",
    "password_hasher",
    "positive_decimal",
    "positive_decimal_pattern",
    "throttle",
    "throttle_login",
    "token_policy",
]
