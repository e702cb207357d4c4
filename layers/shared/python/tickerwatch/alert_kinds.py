"""Each kind of alert, declared once.

A kind names its conditions (with the words the web client offers them in), the fields it requires
and those it takes without requiring. Everything else is derived from here: the rules that validate
a definition (``alerts``), the API's request models (``schemas.alerts``), the columns the data
access reads and copies (``data.sql``), and the client's forms and wording
(``web/src/generated/alertKinds.js``, written by ``tickerwatch generate-client``);
tests/unit/test_alert_kinds.py fails when any of them disagrees with this module.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

# What an alert watches beyond its type and condition: columns of both alerts and alert_triggers,
# in this order wherever they are listed.
CONDITION_FIELDS = (
    "threshold_price",
    "duration_minutes",
    "percent",
    "window_minutes",
    "indicator",
    "period",
    "other_indicator",
    "other_period",
    "horizon",
)
INDICATORS = {"sma": "simple moving average", "ema": "exponential moving average"}


@dataclass(frozen=True)
class Condition:
    name: str
    label: str  # how the client's form offers it, after the stock: "GOOG is at or above"
    # How the client says what an alert watches: {symbol}, a field's name ({threshold_price} as money,
    # {percent} as a percentage), {average} for indicator(period), {other_average} for the second one.
    sentence: str
    # The sentence when the kind's optional fields are given (a second average).
    sentence_with_optional: str | None = None
    # The fields this condition needs, where they are not its kind's (outside_band needs none).
    fields: tuple[str, ...] | None = None


@dataclass(frozen=True)
class AlertKind:
    name: str
    title: str  # the client's choice of kind
    conditions: tuple[Condition, ...]
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    def condition(self, name: str) -> Condition | None:
        return next((c for c in self.conditions if c.name == name), None)

    def fields_for(self, condition: str) -> tuple[str, ...]:
        """The fields a definition of this kind and condition must give."""
        found = self.condition(condition)
        return found.fields if found is not None and found.fields is not None else self.required

    @property
    def accepted(self) -> tuple[str, ...]:
        """Every field a definition of this kind may give, in CONDITION_FIELDS' order."""
        return tuple(f for f in CONDITION_FIELDS if f in {*self.required, *self.optional})


_ABOVE_BELOW_CROSSING = (
    Condition("above", "is at or above", "{symbol} is at or above {threshold_price}"),
    Condition("below", "is at or below", "{symbol} is at or below {threshold_price}"),
    Condition("crosses_above", "crosses above", "{symbol} crosses above {threshold_price}"),
    Condition("crosses_below", "crosses below", "{symbol} crosses below {threshold_price}"),
)


def _against_averages(condition: Condition) -> Condition:
    """An indicator alert's condition: the price against an average, or an average against another."""
    side = condition.label
    return Condition(
        condition.name,
        side,
        f"{{symbol}} {side} its {{average}}",
        sentence_with_optional=f"{{symbol}} {{average}} {side} its {{other_average}}",
    )


KINDS = (
    AlertKind("threshold", "Price crosses or is beyond a level", _ABOVE_BELOW_CROSSING, ("threshold_price",)),
    AlertKind(
        "duration",
        "Price stays beyond a level for a while",
        (
            Condition("above", "stays above", "{symbol} stays above {threshold_price} for {duration_minutes} minutes"),
            Condition("below", "stays below", "{symbol} stays below {threshold_price} for {duration_minutes} minutes"),
        ),
        ("threshold_price", "duration_minutes"),
    ),
    AlertKind(
        "percent_change",
        "Price moves by a percentage",
        (
            Condition("up", "moves up by", "{symbol} moves up {percent} within {window_minutes} minutes"),
            Condition("down", "moves down by", "{symbol} moves down {percent} within {window_minutes} minutes"),
        ),
        ("percent", "window_minutes"),
    ),
    AlertKind(
        "indicator",
        "Price or average against a moving average",
        tuple(_against_averages(c) for c in _ABOVE_BELOW_CROSSING),
        ("indicator", "period"),
        optional=("other_indicator", "other_period"),
    ),
    AlertKind(
        "forecast",
        "The model's forecast",
        (
            Condition(
                "forecast_above",
                "forecast close at or above a price",
                "{symbol} forecast {horizon} trading days ahead is at or above {threshold_price}",
            ),
            Condition(
                "forecast_below",
                "forecast close at or below a price",
                "{symbol} forecast {horizon} trading days ahead is at or below {threshold_price}",
            ),
            # judged against the model's own band: no price, no horizon
            Condition(
                "outside_band", "price leaves the 95% forecast band", "{symbol} leaves its 95% forecast band", fields=()
            ),
        ),
        ("threshold_price", "horizon"),
    ),
)
BY_NAME = {kind.name: kind for kind in KINDS}
ALERT_TYPES = tuple(BY_NAME)
ALL_CONDITIONS = tuple(dict.fromkeys(c.name for kind in KINDS for c in kind.conditions))


def client_module() -> str:
    """The web client's generated module: the kinds as its forms and wording use them."""
    kinds = {
        kind.name: {
            "title": kind.title,
            "conditions": [[c.name, c.label] for c in kind.conditions],
            "sentences": {c.name: c.sentence for c in kind.conditions},
            "sentencesWithOptional": {
                c.name: c.sentence_with_optional for c in kind.conditions if c.sentence_with_optional
            },
            "fields": list(kind.accepted),
            "conditionFields": {c.name: list(c.fields) for c in kind.conditions if c.fields is not None},
        }
        for kind in KINDS
    }
    return (
        "// Generated from layers/shared/python/tickerwatch/alert_kinds.py by `tickerwatch generate-client`;\n"
        "// do not edit (tests/unit/test_alert_kinds.py fails when it differs).\n"
        f"export const ALERT_KINDS = {json.dumps(kinds, indent=2)};\n"
        f"export const CONDITION_FIELDS = {json.dumps(list(CONDITION_FIELDS))};\n"
        f"export const INDICATORS = {json.dumps(INDICATORS)};\n"
    )
