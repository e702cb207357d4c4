"""Domain errors. Each says what went wrong; the HTTP adapter maps the kind to a status."""

from __future__ import annotations


class DomainError(Exception):
    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class InvalidInput(DomainError):
    """The request is well-formed JSON but its values break a rule (400)."""

    def __init__(self, errors: dict[str, list[str]], detail: str = "Invalid input."):
        super().__init__(detail)
        self.errors = errors


class AuthenticationFailed(DomainError):
    """Missing, wrong or unusable credentials (401)."""


class NotFound(DomainError):
    """The thing does not exist, or belongs to someone else (404)."""


class Conflict(DomainError):
    """It would duplicate something that exists (409)."""


class Unprocessable(DomainError):
    """Valid input that cannot be served as asked, e.g. too little price history (422)."""


class UpstreamUnavailable(DomainError):
    """A provider we depend on failed (503)."""
