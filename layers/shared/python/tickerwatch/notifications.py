"""Notifications of alert triggers and of paper-trading fills: emails (rendering; the senders: SES,
SMTP, a log sink), webhook deliveries (tickerwatch.webhooks), and the outbox dispatcher that sends both.

The outbox row is written in the same transaction as its trigger, so no trigger is without
its email. Sending happens after commit: each notification is claimed (SKIP LOCKED, status
'sending' with a lease), handed over (recorded just before the provider is called), sent, then
marked sent; one claimed by a dispatcher that died before handing it over is sent by the next at
once, one handed over waits for its lease (it may have gone); a failure goes back to 'pending' with the
error and an exponential backoff, and becomes 'failed' after the last attempt. Webhooks follow the
same rules, with each attempt also written to the delivery log.
"""

from __future__ import annotations

import html
import math
import smtplib
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import unquote, urlparse

from tickerwatch import live
from tickerwatch.data import clock
from tickerwatch.data import outbox as store
from tickerwatch.data import webhooks as webhook_store
from tickerwatch.data.outbox import NotificationRow
from tickerwatch.db import Database
from tickerwatch.market_data import NEW_YORK
from tickerwatch.observability import logger
from tickerwatch.webhooks import WebhookPoster, alert_triggered_payload, order_filled_payload

LEASE = timedelta(minutes=5)
BATCH = 200
MAX_BACKOFF_MINUTES = 6 * 60


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str


class EmailSender(Protocol):
    def send(self, email: Email) -> str | None:
        """Send or raise; returns the provider's message id when it has one."""


class LogEmailSender:
    """Local default: the email goes to the log, nothing leaves the machine."""

    def send(self, email: Email) -> str | None:
        logger.info("email (log sink)", extra={"to": email.to, "subject": email.subject, "text": email.text})
        return f"log-{uuid.uuid4()}"


class SesEmailSender:
    def __init__(self, source: str, client=None):
        import boto3

        self.source = source
        self.client = client or boto3.client("ses")

    def send(self, email: Email) -> str | None:
        reply = self.client.send_email(
            Source=self.source,
            Destination={"ToAddresses": [email.to]},
            Message={
                "Subject": {"Data": email.subject, "Charset": "UTF-8"},
                "Body": {
                    "Text": {"Data": email.text, "Charset": "UTF-8"},
                    "Html": {"Data": email.html, "Charset": "UTF-8"},
                },
            },
        )
        return reply.get("MessageId")


class SmtpEmailSender:
    """smtp://user:pass@host:port or smtps://... (implicit TLS); plain smtp upgrades with STARTTLS when offered."""

    def __init__(self, source: str, url: str):
        self.source = source
        self.url = urlparse(url)

    def send(self, email: Email) -> str | None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.source, email.to, email.subject
        message["Message-ID"] = f"<{uuid.uuid4()}@tickerwatch>"
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        host, port = self.url.hostname or "localhost", self.url.port
        if self.url.scheme == "smtps":
            client = smtplib.SMTP_SSL(host, port or 465, timeout=20)
        else:
            client = smtplib.SMTP(host, port or 25, timeout=20)
        with client:
            if self.url.scheme == "smtp" and client.has_extn("starttls"):
                client.starttls()
            if self.url.username:
                client.login(unquote(self.url.username), unquote(self.url.password or ""))
            client.send_message(message)
        return message["Message-ID"]


def build_sender(backend: str, source: str, smtp_url: str | None) -> EmailSender:
    if backend == "ses":
        return SesEmailSender(source)
    if backend == "smtp":
        assert smtp_url
        return SmtpEmailSender(source, smtp_url)
    return LogEmailSender()


# ---------------------------------------------------------------- content


def describe_condition(row: NotificationRow) -> str:
    threshold = f"{row.threshold_price:.2f}" if row.threshold_price is not None else ""
    condition = row.condition
    if row.alert_type == "threshold":
        words = {
            "above": "at or above",
            "below": "at or below",
            "crosses_above": "crossed above",
            "crosses_below": "crossed below",
        }[condition]
        return f"{words} {threshold}"
    if row.alert_type == "duration":
        side = "at or above" if condition == "above" else "at or below"
        return f"stayed {side} {threshold} for {row.duration_minutes} minutes"
    if row.alert_type == "indicator":
        return _describe_indicator(row)
    if row.alert_type == "forecast":
        return _describe_forecast(row)
    direction = "rose" if condition == "up" else "fell"
    return f"{direction} by at least {row.percent:g}% within {row.window_minutes} minutes"


_SIDES = {
    "above": "at or above",
    "below": "at or below",
    "crosses_above": "crossed above",
    "crosses_below": "crossed below",
}


def _value(row: NotificationRow, name: str) -> str:
    return f" ({getattr(row, name):.2f})" if getattr(row, name) is not None else ""


def _describe_indicator(row: NotificationRow) -> str:
    """ "SMA(50) (243.10) crossed above SMA(200) (240.02)" or "crossed above its SMA(50) (243.10)"."""
    average = f"{row.indicator.upper()}({row.period})"
    if row.other_indicator:
        other = f"{row.other_indicator.upper()}({row.other_period})"
        side = _SIDES[row.condition]
        return f"{average}{_value(row, 'observed_value')} {side} {other}{_value(row, 'reference_value')}"
    return f"{_SIDES[row.condition]} its {average}{_value(row, 'reference_value')}"


def _describe_forecast(row: NotificationRow) -> str:
    if row.condition == "outside_band":
        return f"left the 95% forecast band (edge{_value(row, 'reference_value')})"
    side = "at or above" if row.condition == "forecast_above" else "at or below"
    return (
        f"forecast close {row.horizon} trading days ahead{_value(row, 'observed_value')} is {side} "
        f"{row.threshold_price:.2f}"
    )


def render_email(row: NotificationRow) -> Email:
    quoted = row.quoted_at.astimezone(NEW_YORK)
    when = quoted.strftime("%Y-%m-%d %H:%M %Z")
    price = f"{row.price:.2f}"
    condition = describe_condition(row)
    subject = f"tickerwatch alert: {row.symbol} {condition}"
    text = (
        f"Your alert on {row.symbol} was triggered.\n\n"
        f"Condition: {row.symbol} {condition}\n"
        f"Price: {price}\n"
        f"Quoted at: {when}\n"
        f"Triggered at: {row.triggered_at.astimezone(UTC):%Y-%m-%d %H:%M UTC}\n\n"
        "You can turn alert emails off in your account settings.\n"
    )
    e = html.escape
    body = (
        f"<html><body><h2>{e(row.symbol)} alert triggered</h2>"
        f"<table><tr><th align='left'>Condition</th><td>{e(row.symbol)} {e(condition)}</td></tr>"
        f"<tr><th align='left'>Price</th><td>{e(price)}</td></tr>"
        f"<tr><th align='left'>Quoted at</th><td>{e(when)}</td></tr></table>"
        "<p>You can turn alert emails off in your account settings.</p></body></html>"
    )
    return Email(row.recipient, subject, text, body)


def render_fill_email(row: NotificationRow) -> Email:
    """A resting paper-trading order was filled."""
    quoted = row.quoted_at.astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M %Z")
    qty = f"{row.qty.normalize():f}"
    kind = row.order_type
    limit = row.limit_price if kind == "limit" else row.stop_price
    what = f"{row.side} {qty} {row.symbol} ({kind} {limit:.2f})"
    price, notional = f"{row.price:.4f}", f"{row.notional:,.2f}"
    subject = f"tickerwatch paper order filled: {what}"
    text = (
        f"Your paper order {row.order_id} was filled.\n\n"
        f"Order: {what}\n"
        f"Fill price: {price}\n"
        f"Amount: {notional}\n"
        f"Quoted at: {quoted}\n\n"
        "You can turn emails off in your account settings.\n"
    )
    e = html.escape
    body = (
        f"<html><body><h2>Paper order filled</h2>"
        f"<table><tr><th align='left'>Order</th><td>{e(what)}</td></tr>"
        f"<tr><th align='left'>Fill price</th><td>{e(price)}</td></tr>"
        f"<tr><th align='left'>Amount</th><td>{e(notional)}</td></tr>"
        f"<tr><th align='left'>Quoted at</th><td>{e(quoted)}</td></tr></table>"
        "<p>You can turn emails off in your account settings.</p></body></html>"
    )
    return Email(row.recipient, subject, text, body)


# ---------------------------------------------------------------- dispatch


def backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), MAX_BACKOFF_MINUTES))


class SendRate:
    """At most ``per_second`` sends a second across the worker threads (the provider's quota, e.g.
    SES's maximum send rate), spaced evenly."""

    def __init__(self, per_second: float):
        self.interval = 1.0 / per_second
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(self._next, now)
            self._next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


def dispatch_notifications(
    db: Database,
    sender: EmailSender,
    *,
    max_attempts: int,
    now: datetime | None = None,
    rate_per_second: float = 14.0,
    concurrency: int | None = None,
    deadline: float | None = None,
    webhook_poster: WebhookPoster | None = None,
    publisher: live.Publisher | None = None,
) -> tuple[int, int]:
    """Send due notifications, several at once, emails at most ``rate_per_second``; returns the
    emails (sent, failed) (webhook counts go to the log).

    One dispatcher runs at a time (a session advisory lock): the rate is the provider's for the
    whole account, so two dispatchers would exceed it. A run that finds another at work waits a
    little for it, then leaves the rest to it. Each notification is claimed with a lease, sent, and
    marked in its own commit, so a crash loses none (its lease expires and a later run sends it) and
    a sent one is never sent again. ``deadline`` (time.monotonic) stops claiming new batches, so a
    Lambda ends before its timeout with the rest left pending.
    """
    poster = webhook_poster or WebhookPoster()
    publisher = publisher or live.NullPublisher()
    workers = concurrency or min(64, max(2, math.ceil(rate_per_second / 5)))
    batch_size = max(1, min(BATCH, int(rate_per_second * 60)))  # a batch finishes well within its lease
    with db.session_lock(DISPATCH_LOCK_KEY, wait_seconds=5) as held:
        if not held:
            logger.info("another dispatcher is sending; leaving the outbox to it")
            return 0, 0
        rate = SendRate(rate_per_second)
        counts = {(channel, outcome): 0 for channel in ("email", "webhook") for outcome in ("sent", "failed")}
        counts_lock = threading.Lock()

        def handed_over(row: NotificationRow) -> bool:
            return db.one(lambda conn: store.hand_over(conn, row.id, row.attempts))

        def deliver(row: dict, when: datetime) -> None:
            delivery = None  # a webhook attempt, logged with the outcome
            if row.channel == "webhook":
                if row.webhook_url is None:  # deleted since the alert fired: nowhere to send it
                    db.run(lambda conn: store.mark_skipped(conn, row.id, "The webhook was deleted."))
                    return
                message_id = f"msg_{row.id}"  # the same on every attempt: receivers drop repeats by it
                payload = order_filled_payload(row) if row.fill_id else alert_triggered_payload(row)
                if not handed_over(row):
                    return
                delivery = poster.post(row.webhook_url, row.webhook_secret, message_id, payload)
                error = delivery.error
            else:
                rate.wait()
                if not handed_over(row):
                    return
                try:
                    email = render_fill_email(row) if row.fill_id else render_email(row)
                    message_id, error = sender.send(email), None
                except Exception as exc:  # any provider failure: keep it, retry later
                    error = f"{type(exc).__name__}: {exc}"
            retry_at = None
            if error is not None:
                retry_at = when + backoff(row.attempts) if row.attempts < max_attempts else None
                logger.warning(
                    f"{row.channel} failed",
                    extra={
                        "notification_id": row.id,
                        "attempt": row.attempts,
                        "error": error,
                        "will_retry": retry_at is not None,
                    },
                )

            def record(conn) -> None:
                if delivery is not None:
                    webhook_store.record_delivery(
                        conn,
                        row.id,
                        row.attempts,
                        delivery.status_code,
                        delivery.error,
                        delivery.excerpt,
                        delivery.duration_ms,
                    )
                if error is None:
                    store.mark_sent(conn, row.id, message_id)
                else:
                    store.mark_failed(conn, row.id, error, retry_at)

            db.run(record)
            if row.user_id is not None:  # committed: tell the owner's open clients
                kind = live.NOTIFICATION_SENT if error is None else live.NOTIFICATION_FAILED
                told = {"notification_id": row.id, "channel": row.channel, "symbol": row.symbol}
                told |= {"alert_id": row.alert_id} if row.trigger_id else {"order_id": row.order_id}
                if error is not None:
                    told["will_retry"] = retry_at is not None
                publisher.publish([live.user_event(row.user_id, kind, **told)])
            with counts_lock:
                counts[row.channel, "sent" if error is None else "failed"] += 1

        with ThreadPoolExecutor(workers, thread_name_prefix="sender") as pool:
            while deadline is None or time.monotonic() < deadline:
                when = now or db.run(clock.database_now)
                batch = db.run(lambda conn, when=when: store.claim_notifications(conn, when, batch_size, LEASE))
                for done in as_completed([pool.submit(deliver, row, when) for row in batch]):
                    done.result()
                if len(batch) < batch_size:
                    break
        if counts["webhook", "sent"] or counts["webhook", "failed"]:
            logger.info(
                "webhooks dispatched",
                extra={"webhooks_sent": counts["webhook", "sent"], "webhooks_failed": counts["webhook", "failed"]},
            )
        return counts["email", "sent"], counts["email", "failed"]


DISPATCH_LOCK_KEY = 7_320_114_503
