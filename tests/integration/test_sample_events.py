"""events/: a sample event for every function, as `sam local invoke <Function> -e events/<file>` sends
it; each is fed to its handler here, against the test database."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from test_sam_build import functions_in, load_template

from tickerwatch.events import LocalContext
from tickerwatch.local import function_names, load_function

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
PLACEHOLDER = "REPLACE_WITH_AN_ACCESS_TOKEN"


def sample(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text())


def function_of(event_file: Path) -> str:
    return event_file.stem.split("-")[0]


def template_routes() -> dict[str, set[str]]:
    routes: dict[str, set[str]] = {}
    for resource in functions_in(load_template(ROOT / "template.yaml")).values():
        name = Path(resource["Properties"]["CodeUri"]).name
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] == "HttpApi":
                routes.setdefault(name, set()).add(f"{event['Properties']['Method']} {event['Properties']['Path']}")
    return routes


def invoke(name: str, event: dict):
    return load_function(name).handler(event, LocalContext(name))


def test_every_function_has_a_sample_event_and_every_event_a_function():
    files = [f for f in EVENTS.glob("*.json") if f.name != "env.json"]
    assert {function_of(f) for f in files} == set(function_names())


def test_http_events_are_payload_2_0_on_routes_the_template_declares():
    routes = template_routes()
    for name in routes:
        event = sample(name)
        assert event["version"] == "2.0"
        assert event["routeKey"] in routes[name], (name, event["routeKey"])
        method, path = event["routeKey"].split(" ", 1)
        assert (event["requestContext"]["http"]["method"], event["rawPath"]) == (method, path)
        if "body" in event:
            json.loads(event["body"])


def test_env_json_sets_only_variables_the_template_declares():
    """sam local ignores a variable the function does not declare: such a line would do nothing."""
    template = load_template(ROOT / "template.yaml")
    declared = set(template["Globals"]["Function"]["Environment"]["Variables"])
    for resource in functions_in(template).values():
        declared |= set(resource["Properties"].get("Environment", {}).get("Variables", {}))
    parameters = json.loads((EVENTS / "env.json").read_text())["Parameters"]
    assert set(parameters) <= declared
    assert {"DATABASE_URL", "JWT_SECRET"} <= set(parameters)


def test_each_http_sample_event_is_served_by_its_handler(db):
    assert invoke("health", sample("health"))["statusCode"] == 200
    assert invoke("register", sample("register"))["statusCode"] == 201
    reply = invoke("token", sample("token"))
    assert reply["statusCode"] == 200
    access = json.loads(reply["body"])["access"]

    def signed(name: str) -> dict:
        event = sample(name)
        assert event["headers"]["authorization"] == f"Bearer {PLACEHOLDER}"
        event["headers"]["authorization"] = f"Bearer {access}"
        return event

    me = invoke("account", signed("account"))
    assert me["statusCode"] == 200 and json.loads(me["body"])["username"] == "samlocal"
    assert invoke("account", sample("account"))["statusCode"] == 401  # the placeholder is no token
    prediction = invoke("predict", signed("predict"))
    assert prediction["statusCode"] == 200, prediction["body"][:500]
    assert json.loads(prediction["body"])["ticker"] == "TSLA"
    stocks = invoke("stocks", sample("stocks"))
    assert stocks["statusCode"] == 200 and "TSLA" in stocks["body"]
    alert = invoke("alerts", signed("alerts"))
    assert alert["statusCode"] == 201, alert["body"]
    order = invoke("trading", signed("trading"))  # the sample's quotes are old: the limit order rests
    assert order["statusCode"] == 201, order["body"]
    assert json.loads(order["body"])["status"] == "open"
    market = invoke("market", sample("market"))
    assert market["statusCode"] == 200 and "is_open" in json.loads(market["body"])
    # AppSync Events' authorizer request, with the placeholder and then a real token
    assert invoke("events_authorizer", sample("events_authorizer"))["isAuthorized"] is False
    allowed = invoke("events_authorizer", sample("events_authorizer") | {"authorizationToken": access})
    assert allowed["isAuthorized"] is True and allowed["ttlOverride"] == 0


def test_each_job_sample_event_is_run_by_its_handler(db):
    assert "applied" in invoke("migrate", sample("migrate"))
    fetched = invoke("fetch_prices", sample("fetch_prices"))
    assert "error" not in fetched
    for name in ("process_prices", "process_prices-prices-changed"):
        summary = invoke("process_prices", sample(name))
        assert {"evaluated", "triggered"} <= set(summary)
    assert invoke("forecast_alerts", sample("forecast_alerts")) == {"forecast": [], "failed": {}}


@pytest.fixture
def rotation_secret(monkeypatch):
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        yield client, client.create_secret(Name="tickerwatch-jwt", SecretString="x" * 64)["ARN"]


def test_the_rotation_sample_event_runs_its_step(rotation_secret):
    client, arn = rotation_secret
    event = sample("rotate_jwt_secret")
    assert event["Step"] == "createSecret"
    event["SecretId"] = arn  # the sample's ARN names an account moto does not have
    function = load_function("rotate_jwt_secret")
    function._client = lambda: client
    assert function.handler(event, LocalContext("rotate_jwt_secret")) == {
        "step": "createSecret",
        "version": event["ClientRequestToken"],
    }
    pending = client.get_secret_value(SecretId=arn, VersionId=event["ClientRequestToken"], VersionStage="AWSPENDING")
    assert len(pending["SecretString"]) == 64
