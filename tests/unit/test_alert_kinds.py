"""Each alert kind is declared once (tickerwatch.alert_kinds): the validation rules, the API's request
models, the client's generated module and the SQL column lists agree with the declaration."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest

from tickerwatch import alerts
from tickerwatch.alert_kinds import CONDITION_FIELDS, KINDS, client_module
from tickerwatch.data import sql
from tickerwatch.data.alerts import AlertRow, TriggerRow, WatchedFields
from tickerwatch.data.outbox import NotificationRow
from tickerwatch.schemas.alerts import REQUEST_MODELS, AlertPatch, ConditionOut

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "web" / "src" / "generated" / "alertKinds.js"
PAIRS = [(kind, condition) for kind in KINDS for condition in kind.conditions]


def test_the_clients_generated_module_is_the_declaration():
    assert GENERATED.read_text() == client_module(), "run `tickerwatch generate-client` and commit the result"


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_each_request_model_takes_the_kinds_conditions_and_fields(kind):
    model = REQUEST_MODELS[kind.name]
    fields = model.model_fields
    assert typing.get_args(fields["alert_type"].annotation) == (kind.name,)
    assert typing.get_args(fields["condition"].annotation) == tuple(c.name for c in kind.conditions)
    taken = {name for name in CONDITION_FIELDS if name in fields and fields[name].annotation is not type(None)}
    assert taken == set(kind.accepted)
    needed_by_all = set.intersection(*(set(kind.fields_for(c.name)) for c in kind.conditions))
    assert {name for name in taken if fields[name].is_required()} == needed_by_all


@pytest.mark.parametrize(("kind", "condition"), PAIRS, ids=[f"{k.name}-{c.name}" for k, c in PAIRS])
def test_the_rules_want_exactly_the_declared_fields(kind, condition):
    values = {
        "threshold_price": 100,
        "duration_minutes": 5,
        "percent": 2,
        "window_minutes": 5,
        "indicator": "sma",
        "period": 20,
        "other_indicator": "ema",
        "other_period": 50,
        "horizon": 5,
    }
    needed = kind.fields_for(condition.name)
    given = {name: values[name] for name in needed}
    definition = alerts.AlertDefinition(symbol="GOOG", alert_type=kind.name, condition=condition.name, **given)
    assert alerts.validate_definition(definition, 100.0, alerts.datetime.now(alerts.UTC)) == {}
    for name in needed:
        missing = alerts.AlertDefinition(
            symbol="GOOG", alert_type=kind.name, condition=condition.name, **{**given, name: None}
        )
        assert name in alerts.validate_definition(missing, 100.0, alerts.datetime.now(alerts.UTC))
    for name in set(CONDITION_FIELDS) - set(kind.accepted) - set(needed):
        extra = alerts.AlertDefinition(
            symbol="GOOG", alert_type=kind.name, condition=condition.name, **{**given, name: values[name]}
        )
        assert name in alerts.validate_definition(extra, 100.0, alerts.datetime.now(alerts.UTC)), name


def test_patches_responses_rows_and_sql_carry_every_declared_field():
    for name in CONDITION_FIELDS:
        assert name in AlertPatch.model_fields and name in ConditionOut.model_fields, name
        assert name in AlertRow.__dataclass_fields__ and name in TriggerRow.__dataclass_fields__, name
        assert name in NotificationRow.__dataclass_fields__, name
    assert tuple(WatchedFields.__dataclass_fields__) == CONDITION_FIELDS
    assert sql.expand("SELECT {condition_fields:a} FROM alerts a") == (
        "SELECT " + ", ".join(f"a.{name}" for name in CONDITION_FIELDS) + " FROM alerts a"
    )


@pytest.mark.parametrize(("kind", "condition"), PAIRS, ids=[f"{k.name}-{c.name}" for k, c in PAIRS])
def test_each_sentence_names_only_what_its_alert_has(kind, condition):
    names = set(re.findall(r"\{(\w+)\}", condition.sentence))
    given = set(kind.fields_for(condition.name)) | {"symbol"}
    if {"indicator", "period"} <= given:
        given |= {"average"}
    assert names <= given and "{symbol}" in condition.sentence
    if kind.optional:
        assert condition.sentence_with_optional and "{other_average}" in condition.sentence_with_optional
    else:
        assert condition.sentence_with_optional is None
