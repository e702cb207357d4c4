"""Alert email through Amazon SES (moto): a rejected send is retried later and delivered once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import boto3
from market import WED_3PM, quote
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from tickerwatch.alerts import AlertDefinition, create_alert
from tickerwatch.data.users import insert_user
from tickerwatch.notifications import SesEmailSender
from tickerwatch.processing import process_prices

SENDER = "alerts@tickerwatch.example"


def sent_messages():
    return ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages


@mock_aws
def test_rejected_send_is_retried_and_delivered_exactly_once(db):
    ses = boto3.client("ses", region_name="us-east-1")
    user = db.run(lambda conn: insert_user(conn, "alice", "alice", "alice@example.com", "x")).id
    quote(db, "ACME", 150, WED_3PM - timedelta(minutes=1))
    create_alert(db, user, AlertDefinition("ACME", "threshold", "above", threshold_price=Decimal(100)))
    sender = SesEmailSender(SENDER, client=ses)

    def run(minutes: int):
        return process_prices(
            db, sender, max_price_age_minutes=120, max_attempts=5, now=WED_3PM + timedelta(minutes=minutes)
        )

    # Given the sending identity is not verified yet, SES rejects the message:
    first = run(0)
    assert (first.triggered, first.emails_sent, first.emails_failed) == (1, 0, 1)
    row = db.run(lambda conn: conn.execute("SELECT status, last_error FROM notifications").fetchone())
    assert row["status"] == "pending" and "MessageRejected" in row["last_error"]
    assert len(sent_messages()) == 0

    # when it is verified and the backoff has passed, the next run delivers it,
    ses.verify_email_identity(EmailAddress=SENDER)
    assert run(2).emails_sent == 1
    # and later runs never send it again.
    assert run(10).emails_sent == 0
    assert run(20).emails_sent == 0
    messages = sent_messages()
    assert len(messages) == 1
    assert messages[0].destinations["ToAddresses"] == ["alice@example.com"]
    assert "ACME" in messages[0].subject
    row = db.run(
        lambda conn: conn.execute("SELECT status, provider_message_id, last_error FROM notifications").fetchone()
    )
    assert row["status"] == "sent" and row["provider_message_id"] and row["last_error"] is None
