"""Domain errors. Each says what went wrong; the HTTP adapter maps the kind to a status.

``fields`` carries per-field messages under the request's own field names (Django REST
framework's shape: the adapter puts them at the top level of the body beside ``detail``).
"""

from __future__ import annotations

NON_FIELD = "non_field_errors"


class DomainError(Exception):
    def __init__(self, detail: str, fields: dict[str, list[str]] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.fields = fields or {}


class InvalidInput(DomainError):
    """The request is well-formed JSON but its values break a rule (400)."""

    def __init__(self, fields: dict[str, list[str]], detail: str = "Invalid input."):
        super().__init__(detail, fields)


class AuthenticationFailed(DomainError):
    """Missing, wrong or unusable credentials (401)."""


class NotFound(DomainError):
    """The thing does not exist, or belongs to someone else (404)."""


class Conflict(DomainError):
    """It would duplicate something that exists, or contradicts its current state (409)."""


class Unprocessable(DomainError):
    """Valid input that cannot be served as asked, e.g. too little price history (422)."""


class RateLimited(DomainError):
    """Too many requests of one kind from one client or user (429)."""

    def __init__(self, retry_after: float):
        self.retry_after = max(1, int(-(-retry_after // 1)))  # whole seconds, rounded up
        super().__init__(f"Request was throttled. Expected available in {self.retry_after} seconds.")


class UpstreamUnavailable(DomainError):
    """A provider we depend on failed or cannot be reached (503)."""
