"""Alert definition rules and email content: pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tickerwatch.alerts import AlertDefinition, validate_definition
from tickerwatch.data.outbox import NotificationRow
from tickerwatch.notifications import backoff, describe_condition, render_email

NOW = datetime(2024, 5, 15, 19, 0, tzinfo=UTC)


def errors(current=100.0, **fields):
    fields = {
        "symbol": "ACME",
        "alert_type": "threshold",
        "condition": "above",
        "threshold_price": Decimal(110),
    } | fields
    return validate_definition(AlertDefinition(**fields), current, NOW)


def test_a_sound_alert_has_no_errors():
    assert errors() == {}
    assert (
        errors(
            alert_type="percent_change", condition="down", threshold_price=None, percent=Decimal(3), window_minutes=30
        )
        == {}
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"threshold_price": Decimal(0)}, "threshold_price"),
        ({"threshold_price": Decimal("1000000.01")}, "threshold_price"),
        ({"threshold_price": Decimal("0.99")}, "threshold_price"),  # 101x below the current price
        ({"threshold_price": Decimal(10001)}, "threshold_price"),  # 100.01x above
        ({"condition": "up"}, "condition"),
        ({"percent": Decimal(1)}, "percent"),
        ({"alert_type": "duration", "duration_minutes": None}, "duration_minutes"),
        ({"alert_type": "duration", "duration_minutes": 10081}, "duration_minutes"),
        ({"recurring": False, "cooldown_minutes": 5}, "cooldown_minutes"),
        ({"expires_at": NOW - timedelta(seconds=1)}, "expires_at"),
    ],
)
def test_rule_breaks_name_their_field(fields, field):
    assert field in errors(**fields)


def test_thresholds_exactly_100x_away_are_allowed():
    assert errors(threshold_price=Decimal(10000)) == {}
    assert errors(threshold_price=Decimal(1)) == {}
    assert errors(current=None, threshold_price=Decimal(999999)) == {}  # no price yet: only the absolute cap


def test_email_says_stock_price_condition_and_time():
    row = NotificationRow(
        symbol="ACME",
        alert_type="duration",
        condition="below",
        threshold_price=Decimal(50),
        duration_minutes=30,
        percent=None,
        window_minutes=None,
        price=Decimal("49.5"),
        quoted_at=NOW,
        triggered_at=NOW,
        recipient="a@example.com",
    )
    email = render_email(row)
    assert email.to == "a@example.com"
    assert "ACME stayed at or below 50.00 for 30 minutes" in email.text
    assert "49.50" in email.text and "2024-05-15 15:00 EDT" in email.text
    assert "49.50" in email.html and email.html.startswith("<html>")


def test_condition_wording():
    row = NotificationRow(alert_type="percent_change", condition="up", percent=Decimal("2.5"), window_minutes=60)
    assert describe_condition(row) == "rose by at least 2.5% within 60 minutes"
    row = NotificationRow(alert_type="threshold", condition="crosses_below", threshold_price=Decimal(7))
    assert describe_condition(row) == "crossed below 7.00"


def test_backoff_doubles_and_is_capped():
    assert [backoff(n).total_seconds() / 60 for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert backoff(30) == timedelta(hours=6)
