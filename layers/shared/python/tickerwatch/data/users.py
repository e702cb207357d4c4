"""Data access for users and their refresh tokens."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

from tickerwatch.db import Connection


@dataclass(frozen=True)
class User:
    id: int
    username: str
    email: str
    email_notifications: bool = True


@dataclass(frozen=True)
class StoredCredentials:
    user: User
    password_hash: str


class DuplicateUser(Exception):
    def __init__(self, field: str):
        super().__init__(field)
        self.field = field


_USER_COLUMNS = "id, username, email, email_notifications"


def _user(row: dict) -> User:
    return User(row["id"], row["username"], row["email"], row.get("email_notifications", True))


def insert_user(conn: Connection, username: str, username_key: str, email: str, password_hash: str) -> User:
    try:
        with conn.transaction():
            row = conn.execute(
                "INSERT INTO users (username, username_key, email, password_hash) VALUES (%s, %s, %s, %s)"
                f" RETURNING {_USER_COLUMNS}",
                (username, username_key, email, password_hash),
            ).fetchone()
    except psycopg.errors.UniqueViolation as exc:
        constraint = exc.diag.constraint_name or ""
        raise DuplicateUser("email" if "email" in constraint else "username") from None
    return _user(row)


def find_duplicates(conn: Connection, username_key: str, email: str) -> list[str]:
    rows = conn.execute(
        "SELECT username_key = %s AS same_username, lower(email) = lower(%s) AS same_email"
        " FROM users WHERE username_key = %s OR lower(email) = lower(%s)",
        (username_key, email, username_key, email),
    ).fetchall()
    fields = []
    if any(r["same_username"] for r in rows):
        fields.append("username")
    if any(r["same_email"] for r in rows):
        fields.append("email")
    return fields


def get_credentials(conn: Connection, username_key: str) -> StoredCredentials | None:
    row = conn.execute(
        f"SELECT {_USER_COLUMNS}, password_hash FROM users WHERE username_key = %s", (username_key,)
    ).fetchone()
    return StoredCredentials(_user(row), row["password_hash"]) if row else None


def update_password_hash(conn: Connection, user_id: int, password_hash: str) -> None:
    conn.execute("UPDATE users SET password_hash = %s WHERE id = %s", (password_hash, user_id))


def get_user(conn: Connection, user_id: int) -> User | None:
    row = conn.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE id = %s", (user_id,)).fetchone()
    return _user(row) if row else None


def set_email_notifications(conn: Connection, user_id: int, enabled: bool) -> User | None:
    row = conn.execute(
        f"UPDATE users SET email_notifications = %s WHERE id = %s RETURNING {_USER_COLUMNS}",
        (enabled, user_id),
    ).fetchone()
    return _user(row) if row else None


# ---------------------------------------------------------------- refresh tokens


def insert_refresh_token(
    conn: Connection, jti: uuid.UUID, family_id: uuid.UUID, user_id: int, expires_at: datetime
) -> None:
    conn.execute(
        "INSERT INTO refresh_tokens (jti, family_id, user_id, expires_at) VALUES (%s, %s, %s, %s)",
        (jti, family_id, user_id, expires_at),
    )


@dataclass(frozen=True)
class RefreshTokenUse:
    """What happened when a refresh token was presented for rotation."""

    outcome: str  # "rotated" | "retried" (a repeat within the grace) | "reused" | "revoked" | "expired" | "unknown"
    family_id: uuid.UUID | None = None
    user_id: int | None = None


def use_refresh_token(conn: Connection, jti: uuid.UUID, grace: timedelta = timedelta(0)) -> RefreshTokenUse:
    # The row lock taken by UPDATE makes two concurrent rotations of one token serialise:
    # exactly one sees used_at NULL, the other is treated as reuse.
    row = conn.execute(
        "UPDATE refresh_tokens SET used_at = now()"
        " WHERE jti = %s AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now()"
        " RETURNING family_id, user_id",
        (jti,),
    ).fetchone()
    if row:
        return RefreshTokenUse("rotated", row["family_id"], row["user_id"])
    row = conn.execute(
        "SELECT family_id, user_id, used_at, revoked_at, expires_at <= now() AS expired,"
        " used_at > now() - %s AS within_grace"
        " FROM refresh_tokens WHERE jti = %s",
        (grace, jti),
    ).fetchone()
    if row is None:
        return RefreshTokenUse("unknown")
    if row["revoked_at"] is not None:
        outcome = "revoked"
    elif row["expired"]:
        outcome = "expired"
    elif row["within_grace"]:
        outcome = "retried"
    else:
        outcome = "reused"
    return RefreshTokenUse(outcome, row["family_id"], row["user_id"])


def live_refresh_token_user(conn: Connection, jti: uuid.UUID) -> int | None:
    """The owner of a refresh token that is neither revoked nor expired (rotation off: it is reusable)."""
    row = conn.execute(
        "SELECT user_id FROM refresh_tokens WHERE jti = %s AND revoked_at IS NULL AND expires_at > now()", (jti,)
    ).fetchone()
    return row["user_id"] if row else None


def revoke_family(conn: Connection, family_id: uuid.UUID) -> int:
    cur = conn.execute(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = %s AND revoked_at IS NULL",
        (family_id,),
    )
    return cur.rowcount


def family_of(conn: Connection, jti: uuid.UUID) -> uuid.UUID | None:
    row = conn.execute("SELECT family_id FROM refresh_tokens WHERE jti = %s", (jti,)).fetchone()
    return row["family_id"] if row else None
