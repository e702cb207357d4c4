"""The request body's edge: its size, its media type, NUL characters, and the one JSON grammar of
every endpoint."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import Request

from tickerwatch import errors

MAX_BODY_BYTES = 64 * 1024
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
NUL_MESSAGE = "Null characters are not allowed."
# A JSON string escape for U+0000 that is not itself an escaped backslash followed by "u0000".
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)


class PayloadTooLarge(errors.DomainError):
    def __init__(self) -> None:
        super().__init__(f"Request body is larger than {MAX_BODY_BYTES // 1024} KiB.")


class UnsupportedMediaType(errors.DomainError):
    def __init__(self, content_type: str) -> None:
        super().__init__(f'Unsupported media type "{content_type}" in request; send application/json.')


def refuse_nul_in_url(request: Request) -> None:
    problems: dict[str, list[str]] = {}
    for name, value in [*request.path_params.items(), *request.query_params.multi_items()]:
        if "\x00" in str(value):
            problems[name] = [NUL_MESSAGE]
    if problems:
        raise errors.InvalidInput(problems)


async def read_body(request: Request, expects_json: bool) -> None:
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
