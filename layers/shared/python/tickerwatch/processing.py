"""The process_prices job: what follows a price change or the passing of time, from one place.

fetch_prices announces moved prices (``prices.changed``), the alerts function new or changed alerts,
forecast_alerts new forecasts; a schedule covers what time alone changes (expiry, re-arming after a
cooldown, email retries). Each run judges alerts (``data.evaluation``), matches and expires paper
orders (``data.trading``) in the same transaction, prunes rate-limit counters and dispatches the
notification outbox (``notifications``). The metrics keep their ``Alerts_`` names: alarms and the
dashboard read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tickerwatch import live, throttling
from tickerwatch.data import evaluation, outbox
from tickerwatch.data import trading as trading_store
from tickerwatch.db import Database
from tickerwatch.notifications import EmailSender, dispatch_notifications
from tickerwatch.observability import METRIC_OLDEST_PENDING_NOTIFICATION_AGE, logger, metrics
from tickerwatch.webhooks import WebhookPoster


@dataclass
class ProcessingSummary:
    symbols_changed: int = 0  # symbols whose latest quote moved since they were last judged
    evaluated: int = 0  # alerts judged one by one: those a moved price may fire, and new or changed ones
    triggered: int = 0
    skipped_stale: int = 0
    rearmed: int = 0
    orders_filled: int = 0  # paper-trading orders resting until a changed quote reached them
    orders_canceled: int = 0  # reached, but the cash was gone (a buy stop that gapped past its reservation)
    orders_expired: int = 0  # day orders still open after their session's close
    emails_sent: int = 0
    emails_failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def process_prices(
    db: Database,
    sender: EmailSender,
    *,
    max_price_age_minutes: int,
    max_attempts: int,
    now: datetime | None = None,
    send_rate: float = 14.0,
    send_concurrency: int | None = None,
    deadline: float | None = None,
    webhook_poster: WebhookPoster | None = None,
    publisher: live.Publisher | None = None,
) -> ProcessingSummary:
    """One run: in one transaction, judge the alerts (claiming each firing one's trigger and outbox
    rows, re-arming recurring ones), match the resting orders the same changed quotes reach and
    expire day orders past their close; once that commits, tell the owners' live channels what
    fired and filled; then prune drained rate-limit counters and send what the outbox holds,
    including earlier failures that are due again."""

    def claim(conn) -> tuple[dict, dict]:
        # Resting orders are matched on the same changed quotes in the same transaction that moves
        # the symbols' cursors: one change detection, and a crash loses or repeats neither.
        counts = evaluation.claim_triggers(conn, now, max_price_age_minutes)
        when = counts["now"]
        matched = trading_store.match_resting_orders(conn, *counts.pop("changed"), when)
        return counts, matched | {"expired": trading_store.expire_day_orders(conn, when)}

    counts, orders = db.run(claim)
    when = counts.pop("now")
    summary = ProcessingSummary(
        symbols_changed=counts["symbols_changed"],
        evaluated=counts["evaluated"],
        triggered=counts["triggered"],
        skipped_stale=counts["skipped_stale"],
        rearmed=counts["rearmed"],
        orders_filled=orders["filled"],
        orders_canceled=orders["canceled"],
        orders_expired=len(orders["expired"]),
    )
    (publisher or live.NullPublisher()).publish(
        [
            live.user_event(
                f["user_id"],
                live.ALERT_TRIGGERED,
                alert_id=f["alert_id"],
                symbol=f["symbol"],
                price=f["price"],
                quoted_at=f["quoted_at"],
                triggered_at=when,
            )
            for f in counts.pop("fired")
        ]
        + live.order_events([*orders["outcomes"], *orders["expired"]])
    )
    throttling.prune(db)  # forget drained rate-limit counters; the evaluator runs every few minutes anyway
    sent, failed = dispatch_notifications(
        db,
        sender,
        max_attempts=max_attempts,
        now=when,
        rate_per_second=send_rate,
        concurrency=send_concurrency,
        deadline=deadline,
        webhook_poster=webhook_poster,
        publisher=publisher,
    )
    summary.emails_sent, summary.emails_failed = sent, failed
    for name, value in summary.as_dict().items():
        metrics.add_metric(name=f"Alerts_{name}", unit="Count", value=value)
    # A stuck outbox (a sender down, a run that never gets to dispatch) shows as age, not as failures.
    waited = db.one(outbox.oldest_pending_notification_age)
    metrics.add_metric(name=METRIC_OLDEST_PENDING_NOTIFICATION_AGE, unit="Seconds", value=waited)
    logger.info("process_prices done", extra={**summary.as_dict(), "oldest_pending_notification_seconds": waited})
    return summary
