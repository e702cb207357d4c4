"""JWT signing keys: the one new tokens are signed with, and the ones still accepted after a rotation.

Each token names its key in the `kid` header. The key id is a truncated SHA-256 of the key, the same
in AWS (the secret's AWSCURRENT and AWSPREVIOUS versions) and locally (JWT_SECRET and
JWT_PREVIOUS_SECRETS), so nothing has to keep a table of ids. The keys are 64 random characters:
a hash prefix tells an attacker nothing usable.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass


@functools.lru_cache(maxsize=32)
def key_id(key: str) -> str:
    return hashlib.sha256(b"tickerwatch-jwt-kid:" + key.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SigningKeys:
    current: str
    # Accepted, never used to sign: the key before the last rotation. Every token it signed expires
    # within the longest token lifetime, which the rotation period exceeds.
    previous: tuple[str, ...] = ()

    @property
    def current_id(self) -> str:
        return key_id(self.current)

    def for_id(self, kid: str | None) -> str | None:
        """The key a token says it was signed with; None for an id we do not hold."""
        if kid is None:  # tokens issued before keys had ids were all signed with today's key
            return self.current
        for key in (self.current, *self.previous):
            if key_id(key) == kid:
                return key
        return None
