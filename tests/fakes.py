"""The test suite's fakes of the collaborators the code is handed: one definition each.

Senders stand in for SES or SMTP (``notifications.EmailSender``), posters for the webhook client
(``webhooks.WebhookPoster``), clocks for ``now``. The database is never faked: tests run on the real
embedded Postgres (tests/conftest.py).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime

from tickerwatch.live import LiveEvent
from tickerwatch.notifications import Email
from tickerwatch.webhooks import Delivery


class RecordingSender:
    """Keeps every email it is handed; fails the first ``fail_times`` sends as a provider would."""

    def __init__(self, fail_times: int = 0, delay: float = 0.0):
        self.sent: list[Email] = []
        self.fail_times = fail_times
        self.delay = delay
        self._lock = threading.Lock()

    def send(self, email: Email) -> str:
        time.sleep(self.delay)
        with self._lock:
            if self.fail_times:
                self.fail_times -= 1
                raise ConnectionError("SMTP 451 try again later")
            self.sent.append(email)
            return f"m{len(self.sent)}"


class NullSender:
    """Accepts every email and keeps none."""

    def send(self, email: Email) -> str:
        return "m"


class RecordingPoster:
    """Answers every webhook delivery 200 and keeps (url, secret, message_id, payload) of each."""

    def __init__(self) -> None:
        self.posted: list[tuple[str, str, str, dict]] = []

    def post(self, url: str, secret: str, message_id: str, payload: dict) -> Delivery:
        self.posted.append((url, secret, message_id, payload))
        return Delivery(200, None, "ok", 3)


class FixedClock:
    """A clock that says ``now`` until it is told another time."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class RecordingPublisher:
    """Stands in for the live channel (``live.Publisher``): keeps every event it is handed."""

    def __init__(self):
        self.events: list[LiveEvent] = []
        self._lock = threading.Lock()

    def publish(self, events: list[LiveEvent]) -> int:
        with self._lock:
            self.events.extend(events)
        return len(events)

    def of_type(self, event_type: str) -> list[LiveEvent]:
        return [e for e in self.events if e.payload["type"] == event_type]
