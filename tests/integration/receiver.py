"""A local webhook receiver: verifies each delivery's signature with the `standardwebhooks` package
(as a receiver would) and answers as the test scripts it."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"ok"
    delay: float = 0.0


@dataclass
class Receiver:
    secret: str | None = None
    answers: list[Answer] = field(default_factory=list)  # one per request; then 200
    received: list[dict] = field(default_factory=list)  # verified payloads with their headers
    rejected: list[str] = field(default_factory=list)  # why a delivery failed verification

    def start(self, tls_context=None) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    payload = Webhook(receiver.secret).verify(body, headers)
                    receiver.received.append({"payload": payload, "headers": headers, "path": self.path})
                except Exception as exc:
                    receiver.rejected.append(f"{type(exc).__name__}: {exc}")
                answer = receiver.answers.pop(0) if receiver.answers else Answer()
                time.sleep(answer.delay)
                self.send_response(answer.status)
                self.send_header("content-length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls_context is not None:
            self.server.socket = tls_context.wrap_socket(self.server.socket, server_side=True)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, path: str = "/hook", host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def types(self) -> list[str]:
        return [r["payload"]["type"] for r in self.received]

    def dump(self) -> str:
        return json.dumps([r["payload"] for r in self.received], indent=1)
