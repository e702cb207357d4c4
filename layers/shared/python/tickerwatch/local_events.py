"""AWS AppSync Events, emulated by the local server, so that the web client and the publishers run
unchanged against it and against AWS.

- ``POST /event``: the HTTP publish endpoint (``{"channel", "events": [JSON strings, at most 5]}``),
  taking requests from this machine only (AWS checks the publisher's IAM signature instead).
- ``/event/realtime``: the WebSocket, subprotocols ``aws-appsync-event-ws`` and
  ``header-<base64url JSON of host and Authorization>``; ``connection_init`` -> ``connection_ack``,
  ``ka`` keep-alives, ``subscribe`` (with its ``authorization``) -> ``subscribe_success`` or
  ``subscribe_error``, ``data`` carrying each event as a JSON string, ``unsubscribe``.

Connections and subscriptions are authorized by the same Lambda authorizer AWS calls
(functions/events_authorizer), with an AppSync-shaped request. The fan-out is this process's: one
queue per connection, so a slow reader never holds up the others (past QUEUE_LIMIT it is dropped, and
reconnects; a client reloads its state on reconnecting, so nothing is lost).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from tickerwatch.observability import logger

PROTOCOL = "aws-appsync-event-ws"
CONNECTION_TIMEOUT_MS = 300_000
KEEPALIVE_SECONDS = 60.0
QUEUE_LIMIT = 10_000
MAX_EVENTS = 5
LOOPBACK = {"127.0.0.1", "::1", "localhost", "testclient"}

Authorizer = Callable[[dict[str, Any]], dict[str, Any]]


def authorizer_request(operation: str, token: str | None, channel: str | None = None) -> dict[str, Any]:
    """What AppSync Events sends a Lambda authorizer."""
    request = {
        "apiId": "local",
        "accountId": "000000000000",
        "requestId": str(uuid.uuid4()),
        "operation": operation,
    }
    if channel is not None:
        request |= {
            "channelNamespaceName": channel.split("/")[1] if channel.count("/") >= 2 else "",
            "channel": channel,
        }
    return {"authorizationToken": token or "", "requestContext": request, "requestHeaders": {}}


def header_subprotocol(subprotocols: list[str]) -> dict[str, Any] | None:
    """The connection's authorization, from its ``header-`` subprotocol (base64url of a JSON object)."""
    for protocol in subprotocols:
        if protocol.startswith("header-"):
            encoded = protocol[len("header-") :]
            try:
                decoded = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
                value = json.loads(decoded)
            except (binascii.Error, ValueError):
                return None
            return value if isinstance(value, dict) else None
    return None


def valid_channel(channel: object, wildcard: bool = False) -> bool:
    if not isinstance(channel, str) or not channel.startswith("/"):
        return False
    segments = channel[1:].split("/")
    if not 2 <= len(segments) <= 5:
        return False
    for i, segment in enumerate(segments):
        if wildcard and segment == "*" and i == len(segments) - 1:
            continue
        if not (1 <= len(segment) <= 50 and all(c.isascii() and (c.isalnum() or c == "-") for c in segment)):
            return False
    return True


def matches(subscribed: str, published: str) -> bool:
    if subscribed.endswith("/*"):
        return published.startswith(subscribed[:-1])
    return subscribed == published


@dataclass(eq=False)
class Connection:
    socket: WebSocket
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT))
    subscriptions: dict[str, str] = field(default_factory=dict)  # subscription id -> channel


class EventsHub:
    def __init__(self, authorizer: Authorizer, keepalive_seconds: float = KEEPALIVE_SECONDS):
        self.authorizer = authorizer
        self.keepalive_seconds = keepalive_seconds
        self.exact: dict[str, dict[tuple[Connection, str], None]] = {}
        self.wildcards: dict[tuple[Connection, str], str] = {}
        self.connections: set[Connection] = set()
        self.delivered = 0

    async def authorized(self, operation: str, token: str | None, channel: str | None = None) -> bool:
        answer = await asyncio.to_thread(self.authorizer, authorizer_request(operation, token, channel))
        return bool(answer.get("isAuthorized"))

    # -------------------------------------------------------------- publishing

    def fan_out(self, channel: str, events: list[str]) -> int:
        targets = list(self.exact.get(channel, {}))
        targets += [key for key, subscribed in self.wildcards.items() if matches(subscribed, channel)]
        sent = 0
        encoded = [json.dumps(event) for event in events]  # once per event, not once per subscriber
        for connection, subscription in targets:
            for event in encoded:
                try:
                    connection.queue.put_nowait(
                        f'{{"type": "data", "id": {json.dumps(subscription)}, "event": {event}}}'
                    )
                    sent += 1
                except asyncio.QueueFull:  # a reader this far behind reconnects and reloads
                    asyncio.get_running_loop().create_task(self._drop(connection))
                    break
        self.delivered += sent
        return sent

    async def publish_endpoint(self, request: Request) -> JSONResponse:
        if (request.client.host if request.client else "") not in LOOPBACK:
            return _error(403, "UnauthorizedException", "Publishing is allowed from this machine only.")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, "BadRequestException", "The body is not JSON.")
        channel, events = (body.get("channel"), body.get("events")) if isinstance(body, dict) else (None, None)
        if not valid_channel(channel):
            return _error(400, "BadRequestException", "channel must be /namespace/segment (letters, digits, -).")
        if not isinstance(events, list) or not 1 <= len(events) <= MAX_EVENTS:
            return _error(400, "BadRequestException", f"events must hold 1 to {MAX_EVENTS} JSON strings.")
        for event in events:
            try:
                json.loads(event) if isinstance(event, str) else None
            except ValueError:
                event = None
            if not isinstance(event, str):
                return _error(400, "BadRequestException", "Each event must be a string of valid JSON.")
        self.fan_out(channel, events)
        successful = [{"identifier": str(uuid.uuid4()), "index": i} for i in range(len(events))]
        return JSONResponse({"failed": [], "successful": successful})

    # -------------------------------------------------------------- the realtime socket

    async def realtime_endpoint(self, socket: WebSocket) -> None:
        offered = socket.scope.get("subprotocols") or []
        if PROTOCOL not in offered:
            await socket.close(code=1002, reason=f"subprotocol {PROTOCOL} required")
            return
        await socket.accept(subprotocol=PROTOCOL)
        header = header_subprotocol(offered) or {}
        connection = Connection(socket)
        writer = asyncio.create_task(self._write(connection))
        keepalive: asyncio.Task | None = None
        try:
            first = await socket.receive_json()
            if not isinstance(first, dict) or first.get("type") != "connection_init":
                await self._send_now(
                    connection, {"type": "connection_error", "errors": [_unauthorized("connection_init first")]}
                )
                return
            if not await self.authorized("EVENT_CONNECT", header.get("Authorization")):
                await self._send_now(
                    connection, {"type": "connection_error", "errors": [_unauthorized("Not authorized to connect.")]}
                )
                return
            self.connections.add(connection)
            connection.queue.put_nowait({"type": "connection_ack", "connectionTimeoutMs": CONNECTION_TIMEOUT_MS})
            keepalive = asyncio.create_task(self._keepalive(connection))
            while True:
                message = await socket.receive_json()
                await self._handle(connection, message)
        except (WebSocketDisconnect, RuntimeError, ValueError):
            pass
        finally:
            self._forget(connection)
            for task in (writer, keepalive):
                if task is not None:
                    task.cancel()

    async def _handle(self, connection: Connection, message: Any) -> None:
        kind = message.get("type") if isinstance(message, dict) else None
        sub_id = message.get("id") if isinstance(message, dict) else None
        if kind == "subscribe":
            channel = message.get("channel")
            token = (message.get("authorization") or {}).get("Authorization")
            if not isinstance(sub_id, str) or not sub_id or sub_id in connection.subscriptions:
                error = {"errorType": "BadRequestException", "message": "A new, unique subscription id is required."}
                connection.queue.put_nowait({"type": "subscribe_error", "id": sub_id, "errors": [error]})
            elif not valid_channel(channel, wildcard=True):
                error = {"errorType": "BadRequestException", "message": "Not a valid channel."}
                connection.queue.put_nowait({"type": "subscribe_error", "id": sub_id, "errors": [error]})
            elif not await self.authorized("EVENT_SUBSCRIBE", token, channel):
                connection.queue.put_nowait(
                    {"type": "subscribe_error", "id": sub_id, "errors": [_unauthorized("Not authorized to subscribe.")]}
                )
            elif connection in self.connections:
                connection.subscriptions[sub_id] = channel
                if channel.endswith("/*"):
                    self.wildcards[(connection, sub_id)] = channel
                else:
                    self.exact.setdefault(channel, {})[(connection, sub_id)] = None
                connection.queue.put_nowait({"type": "subscribe_success", "id": sub_id})
        elif kind == "unsubscribe":
            channel = connection.subscriptions.pop(sub_id, None) if isinstance(sub_id, str) else None
            if channel is None:
                error = {"errorType": "UnknownOperationException", "message": "No such subscription."}
                connection.queue.put_nowait({"type": "unsubscribe_error", "id": sub_id, "errors": [error]})
                return
            self._unsubscribe(connection, sub_id, channel)
            connection.queue.put_nowait({"type": "unsubscribe_success", "id": sub_id})
        else:
            error = {"errorType": "UnsupportedOperation", "message": f"Unknown message type {kind!r}."}
            connection.queue.put_nowait({"type": "error", "id": sub_id, "errors": [error]})

    def _unsubscribe(self, connection: Connection, sub_id: str, channel: str) -> None:
        self.wildcards.pop((connection, sub_id), None)
        listeners = self.exact.get(channel)
        if listeners is not None:
            listeners.pop((connection, sub_id), None)
            if not listeners:
                del self.exact[channel]

    def _forget(self, connection: Connection) -> None:
        self.connections.discard(connection)
        for sub_id, channel in list(connection.subscriptions.items()):
            self._unsubscribe(connection, sub_id, channel)
        connection.subscriptions.clear()

    async def _drop(self, connection: Connection) -> None:
        logger.warning("live connection dropped: too far behind", extra={"queued": connection.queue.qsize()})
        self._forget(connection)
        with contextlib.suppress(RuntimeError):
            await connection.socket.close(code=1013)

    async def _send_now(self, connection: Connection, message: dict) -> None:
        await connection.socket.send_text(json.dumps(message))
        await connection.socket.close(code=1008)

    async def _write(self, connection: Connection) -> None:
        try:
            while True:
                message = await connection.queue.get()
                await connection.socket.send_text(message if isinstance(message, str) else json.dumps(message))
        except (WebSocketDisconnect, RuntimeError, asyncio.CancelledError):
            return
        except Exception:  # the socket went away mid-send
            return

    async def _keepalive(self, connection: Connection) -> None:
        while True:
            await asyncio.sleep(self.keepalive_seconds)
            connection.queue.put_nowait({"type": "ka"})

    async def drop_endpoint(self, request: Request) -> JSONResponse:
        """``POST /event/drop`` (this machine only): close every socket, as a deploy or a network
        change does in AWS, to watch clients reconnect and catch up."""
        if (request.client.host if request.client else "") not in LOOPBACK:
            return _error(403, "UnauthorizedException", "Allowed from this machine only.")
        return JSONResponse({"dropped": await self.drop_all()})

    async def drop_all(self) -> int:
        """Close every connection."""
        dropped = list(self.connections)
        for connection in dropped:
            self._forget(connection)
            with contextlib.suppress(RuntimeError):
                await connection.socket.close(code=1012)
        return len(dropped)


class EventsFront:
    """The emulation's paths served ahead of the API's middleware and routing (a publish is on the
    hot path: 500 symbols a second are 500 requests); everything else goes on to the app."""

    def __init__(self, app, hub: EventsHub):
        self.app = app
        self.hub = hub

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] == "websocket" and path == "/event/realtime":
            await self.hub.realtime_endpoint(WebSocket(scope, receive, send))
            return
        if scope["type"] == "http" and scope["method"] == "POST" and path in ("/event", "/event/drop"):
            request = Request(scope, receive)
            endpoint = self.hub.publish_endpoint if path == "/event" else self.hub.drop_endpoint
            response = await endpoint(request)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _unauthorized(message: str) -> dict[str, str]:
    return {"errorType": "UnauthorizedException", "message": message}


def _error(status: int, error_type: str, message: str) -> JSONResponse:
    return JSONResponse({"errors": [{"errorType": error_type, "message": message}]}, status_code=status)
