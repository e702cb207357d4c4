"""Webhooks: endpoints a user registers, deliveries signed per the Standard Webhooks
specification (https://www.standardwebhooks.com), and the guard that keeps them off private networks.

A delivery is ``POST url`` with a JSON body and the ``webhook-id``, ``webhook-timestamp`` and
``webhook-signature`` headers (HMAC-SHA256 over ``id.timestamp.body`` with the endpoint's secret,
by the ``standardwebhooks`` package, which receivers use to verify). The id stays the same across
retries, so a receiver that saw it already can drop the repeat.

Server-side request forgery: a URL must be https to a public address. The host is resolved when
the webhook is registered and again at every delivery (a name may be re-pointed at an internal
address after it was checked), and the connection goes to the address that was checked, never to
a second lookup. Redirects are not followed. ``allow_private`` lifts the rule for local development.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import json
import secrets
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from standardwebhooks.webhooks import Webhook

from tickerwatch.alert_kinds import CONDITION_FIELDS
from tickerwatch.data import webhooks as store
from tickerwatch.data.outbox import NotificationRow
from tickerwatch.db import Database
from tickerwatch.errors import Conflict, InvalidInput, NotFound

MAX_WEBHOOKS = 10
MAX_URL = 2000
EXCERPT_CHARS = 500  # of the receiver's answer, kept in the delivery log; the rest is never read
USER_AGENT = "tickerwatch-webhooks/1"

Resolver = Callable[[str, int], list[str]]


def resolve(host: str, port: int) -> list[str]:
    """Every address the host resolves to (all are checked: a client may connect to any)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def ssl_context() -> ssl.SSLContext:
    return ssl.create_default_context()


# NAT64 addresses (RFC 6052) carry an IPv4 address in their last 32 bits and are judged by it. No
# public host is reached through NAT64 for local use (RFC 8215), the deprecated IPv4-compatible form
# (RFC 4291) or the IPv4-translated one (RFC 2765), though ipaddress calls some of them global; nor in
# IANA's protocol assignments (192.0.0.0/24), which Python before 3.11.10 calls global past its /29.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NEVER_PUBLIC = tuple(ipaddress.ip_network(n) for n in ("64:ff9b:1::/48", "::/96", "::ffff:0:0:0/96", "192.0.0.0/24"))


def is_public(address: str) -> bool:
    """Whether a webhook may be delivered to the address: globally routable, whatever form carries it
    (an IPv4 address inside IPv6 is judged as that IPv4 address)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if any(ip in network for network in _NEVER_PUBLIC):
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        carried = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if ip in _NAT64:
            carried = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if carried is not None:
            return is_public(str(carried))
    return ip.is_global and not ip.is_multicast


class UnsafeTarget(Exception):
    """The URL or the address it resolves to may not be called."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str  # the checked address the connection goes to


def check_url(url: str, allow_private: bool) -> None:
    """The URL's own rules (no lookup); raises UnsafeTarget saying what is wrong."""
    if len(url) > MAX_URL:
        raise UnsafeTarget(f"Must be at most {MAX_URL} characters.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError:
        raise UnsafeTarget("Enter a valid URL.") from None
    allowed = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in allowed:
        raise UnsafeTarget("Must be an https URL.")
    if not parts.hostname:
        raise UnsafeTarget("Enter a valid URL.")
    if parts.username or parts.password:
        raise UnsafeTarget("Must not carry credentials; use the signature to authenticate deliveries.")
    if parts.fragment:
        raise UnsafeTarget("Must not have a fragment.")


def vet(url: str, allow_private: bool, resolver: Resolver = resolve) -> Target:
    """Resolve the URL's host and check every address; the target pins the one to connect to."""
    check_url(url, allow_private)
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = resolver(parts.hostname, port)
    except (OSError, UnicodeError):
        raise UnsafeTarget(f"The host '{parts.hostname}' does not resolve.") from None
    if not addresses:
        raise UnsafeTarget(f"The host '{parts.hostname}' does not resolve.")
    if not allow_private:
        refused = [a for a in addresses if not is_public(a)]
        if refused:
            raise UnsafeTarget(f"Must be a public address; '{parts.hostname}' resolves to {refused[0]}.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port, path, addresses[0])


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to the checked address, with the certificate verified for the URL's host name (SNI)."""

    def __init__(self, target: Target, timeout: float, context: ssl.SSLContext):
        super().__init__(target.host, target.port, timeout=timeout, context=context)
        self._address = target.address

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)


@dataclass(frozen=True)
class Delivery:
    status_code: int | None
    error: str | None
    excerpt: str | None
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.error is None


def signed_headers(secret: str, message_id: str, body: str, when: datetime) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, when.astimezone(UTC), body),
    }


@dataclass(frozen=True)
class WebhookPoster:
    """Sends signed deliveries; a 2xx answer is delivered, anything else (redirects included) is not."""

    allow_private: bool = False
    timeout_seconds: float = 5.0
    resolver: Resolver = resolve

    def post(self, url: str, secret: str, message_id: str, payload: dict[str, Any]) -> Delivery:
        started = time.monotonic()
        body = json.dumps(payload, separators=(",", ":"), default=str)
        status, excerpt, error = None, None, None
        try:
            target = vet(url, self.allow_private, self.resolver)
            if target.scheme == "https":
                conn = _PinnedHTTPSConnection(target, self.timeout_seconds, ssl_context())
            else:
                conn = _PinnedHTTPConnection(target, self.timeout_seconds)
            try:
                headers = signed_headers(secret, message_id, body, datetime.now(UTC))
                conn.request("POST", target.path, body=body.encode(), headers=headers)
                response = conn.getresponse()
                status = response.status
                excerpt = response.read(EXCERPT_CHARS).decode("utf-8", "replace")[:EXCERPT_CHARS] or None
            finally:
                conn.close()
            if not 200 <= status < 300:
                error = f"The receiver answered {status}."
        except UnsafeTarget as exc:
            error = f"Refused: {exc}"
        except TimeoutError:
            error = f"The receiver did not answer within {self.timeout_seconds:g} seconds."
        except (OSError, http.client.HTTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"
        return Delivery(status, error, excerpt, round((time.monotonic() - started) * 1000))


# ---------------------------------------------------------------- the owner's operations


def new_secret() -> str:
    """32 random bytes, base64: the ``whsec_`` format Standard Webhooks libraries read."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def create_webhook(db: Database, user_id: int, url: str, poster: WebhookPoster) -> store.WebhookRow:
    url = url.strip()
    try:
        vet(url, poster.allow_private, poster.resolver)
    except UnsafeTarget as exc:
        raise InvalidInput({"url": [str(exc)]}) from None

    def work(conn):
        if store.count_webhooks(conn, user_id) >= MAX_WEBHOOKS:
            raise Conflict(f"You have {MAX_WEBHOOKS} webhooks, the most allowed; delete one first.")
        return store.insert_webhook(conn, user_id, url, new_secret())

    return db.run(work)


def list_webhooks(db: Database, user_id: int) -> list[store.WebhookRow]:
    return db.one(lambda conn: store.list_webhooks(conn, user_id))


def get_webhook(db: Database, user_id: int, webhook_id: int) -> store.WebhookRow:
    found = db.one(lambda conn: store.get_webhook(conn, user_id, webhook_id))
    if found is None:
        raise NotFound("Webhook not found.")
    return found


def delete_webhook(db: Database, user_id: int, webhook_id: int) -> None:
    """Alerts that named it keep working and notify by email only; undelivered messages to it are dropped."""
    if not db.one(lambda conn: store.delete_webhook(conn, user_id, webhook_id)):
        raise NotFound("Webhook not found.")


def send_test(db: Database, user_id: int, webhook_id: int, poster: WebhookPoster) -> Delivery:
    """A signed ``webhook.test`` message, sent now, so the owner can check the receiver."""
    webhook = db.one(lambda conn: store.get_webhook(conn, user_id, webhook_id, with_secret=True))
    if webhook is None:
        raise NotFound("Webhook not found.")
    now = datetime.now(UTC)
    payload = {"type": "webhook.test", "timestamp": now.isoformat(), "data": {"webhook_id": webhook_id}}
    assert webhook.secret is not None
    return poster.post(webhook.url, webhook.secret, f"msg_test_{secrets.token_hex(8)}", payload)


def alert_triggered_payload(row: NotificationRow) -> dict[str, Any]:
    """The body of an ``alert.triggered`` delivery, from a claimed outbox row."""
    alert = {
        "id": row.alert_id,
        "stock_symbol": row.symbol,
        "alert_type": row.alert_type,
        "condition": row.condition,
    }
    for name in CONDITION_FIELDS:
        if getattr(row, name) is not None:
            alert[name] = str(getattr(row, name)) if name in ("threshold_price", "percent") else getattr(row, name)
    trigger = {
        "id": row.trigger_id,
        "sequence": row.sequence,
        "price": str(row.price),
        "quoted_at": row.quoted_at.isoformat(),
        "triggered_at": row.triggered_at.isoformat(),
    }
    for name in ("observed_value", "reference_value"):  # what an indicator or forecast alert was judged on
        if getattr(row, name) is not None:
            trigger[name] = str(getattr(row, name))
    return {
        "type": "alert.triggered",
        "timestamp": row.triggered_at.isoformat(),
        "data": {"alert": alert, "trigger": trigger},
    }


def order_filled_payload(row: NotificationRow) -> dict[str, Any]:
    """The body of an ``order.filled`` delivery (a resting paper-trading order that a quote reached)."""
    order = {
        "id": row.order_id,
        "client_order_id": row.client_order_id,
        "symbol": row.symbol,
        "side": row.side,
        "qty": str(row.qty),
        "type": row.order_type,
        "limit_price": None if row.limit_price is None else str(row.limit_price),
        "stop_price": None if row.stop_price is None else str(row.stop_price),
    }
    fill = {
        "id": row.fill_id,
        "price": str(row.price),
        "notional": str(row.notional),
        "realized_pl": str(row.realized_pl),
        "quoted_at": row.quoted_at.isoformat(),
        "filled_at": row.filled_at.isoformat(),
    }
    return {"type": "order.filled", "timestamp": row.filled_at.isoformat(), "data": {"order": order, "fill": fill}}
