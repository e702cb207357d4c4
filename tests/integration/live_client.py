"""A minimal AppSync Events client for tests: the protocol as AWS documents it, nothing of ours."""

from __future__ import annotations

import base64
import json
import uuid

from websockets.sync.client import connect

PROTOCOL = "aws-appsync-event-ws"


def header_protocol(host: str, token: str | None) -> str:
    header = {"host": host, **({"Authorization": token} if token else {})}
    return "header-" + base64.urlsafe_b64encode(json.dumps(header).encode()).decode().rstrip("=")


class LiveClient:
    def __init__(self, base_url: str, token: str | None):
        self.host = base_url.split("//", 1)[1]
        self.token = token
        self.socket = connect(
            f"ws://{self.host}/event/realtime",
            subprotocols=[PROTOCOL, header_protocol(self.host, token)],
            open_timeout=5,
        )

    def init(self) -> dict:
        self.send({"type": "connection_init"})
        return self.receive()

    def send(self, message: dict) -> None:
        self.socket.send(json.dumps(message))

    def receive(self, timeout: float = 5.0) -> dict:
        message = json.loads(self.socket.recv(timeout=timeout))
        while message.get("type") == "ka":
            message = json.loads(self.socket.recv(timeout=timeout))
        return message

    def nothing_within(self, seconds: float) -> bool:
        try:
            message = self.receive(timeout=seconds)
        except TimeoutError:
            return True
        raise AssertionError(f"unexpected message: {message}")

    def subscribe(self, channel: str, token: str | None = None) -> dict:
        sub_id = str(uuid.uuid4())
        authorization = {"host": self.host, **({"Authorization": token or self.token} if token or self.token else {})}
        self.send({"type": "subscribe", "id": sub_id, "channel": channel, "authorization": authorization})
        reply = self.receive()
        assert reply["id"] == sub_id, reply
        return reply

    def close(self) -> None:
        self.socket.close()
