"""The SMTP sender against a minimal SMTP server on loopback."""

from __future__ import annotations

import email
import socketserver
import threading
from datetime import UTC, datetime
from decimal import Decimal

from tickerwatch.data.outbox import NotificationRow
from tickerwatch.notifications import SmtpEmailSender, render_email


class SmtpHandler(socketserver.StreamRequestHandler):
    received: list[bytes] = []

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 test ESMTP")
        while line := self.rfile.readline():
            command = line.decode().strip().upper()
            if command.startswith("EHLO"):
                self.wfile.write(b"250-test\r\n250 AUTH PLAIN\r\n")
            elif command.startswith("AUTH"):
                self.reply("235 ok")
            elif command == "DATA":
                self.reply("354 go on")
                data = b""
                while (chunk := self.rfile.readline()) != b".\r\n":
                    data += chunk
                SmtpHandler.received.append(data)
                self.reply("250 queued")
            elif command == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


def test_smtp_sender_delivers_text_and_html():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), SmtpHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        sender = SmtpEmailSender("alerts@example.com", f"smtp://user:secret@127.0.0.1:{port}")
        now = datetime(2024, 5, 15, 19, tzinfo=UTC)
        row = NotificationRow(
            symbol="ACME",
            alert_type="threshold",
            condition="above",
            threshold_price=Decimal(100),
            price=Decimal("101.5"),
            quoted_at=now,
            triggered_at=now,
            recipient="bob@example.com",
        )
        assert sender.send(render_email(row))
    finally:
        server.shutdown()
        server.server_close()
    message = email.message_from_bytes(SmtpHandler.received[-1])
    assert message["To"] == "bob@example.com" and "ACME" in message["Subject"]
    parts = {p.get_content_type() for p in message.walk()}
    assert {"text/plain", "text/html"} <= parts
