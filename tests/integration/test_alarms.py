"""Operations in template.yaml: every dead-letter queue, scheduled job and custom metric has its alarm,
each alarm notifies the topic, the dashboard shows them, and the signing key rotates."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_sam_build import functions_in, load_template

from tickerwatch.observability import ALARMED_METRICS
from tickerwatch.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")
RESOURCES = TEMPLATE["Resources"]
ALARMS = {name: r["Properties"] for name, r in RESOURCES.items() if r["Type"] == "AWS::CloudWatch::Alarm"}


def alarms_on(namespace: str, metric: str, dimension: str, value: object) -> list[dict]:
    return [
        a
        for a in ALARMS.values()
        if a.get("Namespace") == namespace
        and a.get("MetricName") == metric
        and {"Name": dimension, "Value": value} in a.get("Dimensions", [])
    ]


def dead_letter_queues() -> list[str]:
    """Every queue a schedule or rule dead-letters into."""
    queues = []
    for function in functions_in(TEMPLATE).values():
        for event in function["Properties"].get("Events", {}).values():
            config = event["Properties"].get("DeadLetterConfig")
            if config:
                queues.append(config["Arn"]["GetAtt"].split(".")[0])
    return sorted(set(queues))  # fetch_prices' three session schedules share one


def scheduled_jobs() -> list[str]:
    """Functions nobody calls over HTTP: schedules, rules, the key rotation Secrets Manager invokes and
    the live channel's authorizer AppSync invokes."""
    jobs = [
        name
        for name, function in functions_in(TEMPLATE).items()
        if any(e["Type"] in ("ScheduleV2", "Schedule") for e in function["Properties"].get("Events", {}).values())
    ]
    rotations = [
        r["Properties"]["RotationLambdaARN"]["GetAtt"].split(".")[0]
        for r in RESOURCES.values()
        if r["Type"] == "AWS::SecretsManager::RotationSchedule"
    ]
    authorizers = [
        provider["LambdaAuthorizerConfig"]["AuthorizerUri"]["GetAtt"].split(".")[0]
        for r in RESOURCES.values()
        if r["Type"] == "AWS::AppSync::Api"
        for provider in r["Properties"]["EventConfig"]["AuthProviders"]
        if provider["AuthType"] == "AWS_LAMBDA"
    ]
    return jobs + rotations + authorizers


def test_every_dead_letter_queue_alarms_on_its_first_message():
    queues = dead_letter_queues()
    assert sorted(queues) == [
        "FetchPricesDeadLetterQueue",
        "ForecastAlertsDeadLetterQueue",
        "ProcessPricesChangesDeadLetterQueue",
        "ProcessPricesDeadLetterQueue",
    ]
    for queue in queues:
        [alarm] = alarms_on(
            "AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", {"GetAtt": f"{queue}.QueueName"}
        )
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
        assert RESOURCES[queue]["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_every_scheduled_job_alarms_on_errors():
    jobs = scheduled_jobs()
    assert set(jobs) == {
        "FetchPricesFunction",
        "ProcessPricesFunction",
        "ForecastAlertsFunction",
        "RotateJwtSecretFunction",
        "EventsAuthorizerFunction",
    }
    for job in jobs:
        [alarm] = alarms_on("AWS/Lambda", "Errors", "FunctionName", {"Ref": job})
        assert (alarm["Statistic"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
            "Sum",
            1,
            "GreaterThanOrEqualToThreshold",
        )


@pytest.mark.parametrize("job", ["FetchPricesFunction", "ProcessPricesFunction"])
def test_long_jobs_alarm_past_80_percent_of_their_timeout(job):
    timeout_ms = RESOURCES[job]["Properties"]["Timeout"] * 1000
    [alarm] = alarms_on("AWS/Lambda", "Duration", "FunctionName", {"Ref": job})
    assert alarm["Statistic"] == "Maximum"
    assert alarm["Threshold"] == pytest.approx(0.8 * timeout_ms)


def test_the_api_alarms_when_over_1_percent_of_requests_fail_for_5_minutes():
    [alarm] = [
        a
        for a in ALARMS.values()
        if any(m.get("MetricStat", {}).get("Metric", {}).get("MetricName") == "5xx" for m in a.get("Metrics", []))
    ]
    metrics = {m["Id"]: m for m in alarm["Metrics"]}
    returned = [m for m in alarm["Metrics"] if m.get("ReturnData", True)]
    assert len(returned) == 1 and returned[0]["Expression"] == "IF(requests > 0, 100 * errors / requests, 0)"
    assert metrics["errors"]["MetricStat"]["Metric"]["MetricName"] == "5xx"
    assert metrics["requests"]["MetricStat"]["Metric"]["MetricName"] == "Count"
    for m in (metrics["errors"], metrics["requests"]):
        assert {"Name": "ApiId", "Value": {"Ref": "HttpApi"}} in m["MetricStat"]["Metric"]["Dimensions"]
        assert (m["MetricStat"]["Period"], m["MetricStat"]["Stat"]) == (300, "Sum")
    assert (alarm["Threshold"], alarm["ComparisonOperator"], alarm["EvaluationPeriods"]) == (
        1,
        "GreaterThanThreshold",
        1,
    )


def test_predict_alarms_on_its_p99_latency():
    [alarm] = alarms_on("AWS/Lambda", "Duration", "FunctionName", {"Ref": "PredictFunction"})
    assert alarm["ExtendedStatistic"] == "p99"
    assert alarm["Threshold"] == {"Ref": "PredictP99LatencyMs"}


def test_every_custom_metric_the_code_emits_has_an_alarm_in_the_namespace_and_dimension_it_is_emitted_with():
    env = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    namespace, service = env["POWERTOOLS_METRICS_NAMESPACE"], env["POWERTOOLS_SERVICE_NAME"]
    for metric in ALARMED_METRICS:
        assert len(alarms_on(namespace, metric, "service", service)) == 1, metric
    [stuck] = alarms_on("tickerwatch", "OldestPendingNotificationAge", "service", "tickerwatch")
    assert (stuck["Threshold"], stuck["ComparisonOperator"]) == (900, "GreaterThanThreshold")  # 15 minutes
    assert stuck["TreatMissingData"] == "breaching"  # an evaluator that stopped running reports nothing


def test_every_alarm_notifies_the_topic_and_the_dashboard_shows_it():
    assert len(ALARMS) >= 13
    body = RESOURCES["Dashboard"]["Properties"]["DashboardBody"]["Sub"][0]
    shown = set(re.findall(r"\$\{(\w+)\.Arn\}", body))
    for name, alarm in ALARMS.items():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert "docs/operations.md#" in alarm["AlarmDescription"], name
        assert name in shown, name
    assert set(dead_letter_queues()) <= {
        v["GetAtt"].split(".")[0] for v in RESOURCES["Dashboard"]["Properties"]["DashboardBody"]["Sub"][1].values()
    }
    for metric in ALARMED_METRICS:
        assert f'"{metric}"' in body
    json.loads(re.sub(r"\$\{[^}]+\}", "x", body))  # the body CloudWatch receives is JSON
    subscription = RESOURCES["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}


def test_the_runbook_has_a_section_for_every_alarm():
    runbook = (ROOT / "docs" / "operations.md").read_text()
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", h.lower()).strip().replace(" ", "-")
        for h in re.findall(r"^#+ (.+)$", runbook, flags=re.M)
    }
    for name, alarm in ALARMS.items():
        anchor = alarm["AlarmDescription"].split("docs/operations.md#")[1]
        assert anchor in anchors, f"{name} points at #{anchor}, which docs/operations.md lacks"


def test_the_signing_key_rotates_less_often_than_any_token_lives():
    [schedule] = [r["Properties"] for r in RESOURCES.values() if r["Type"] == "AWS::SecretsManager::RotationSchedule"]
    assert schedule["SecretId"] == {"Ref": "JwtSecret"}
    assert schedule["RotationLambdaARN"] == {"GetAtt": "RotateJwtSecretFunction.Arn"}
    days = int(re.fullmatch(r"rate\((\d+) days\)", schedule["RotationRules"]["ScheduleExpression"]).group(1))
    settings = load_settings({})
    longest = max(settings.access_token_ttl_seconds, settings.refresh_token_ttl_seconds)
    # Tokens signed with the previous key must all have expired before a second rotation drops it.
    assert days * 24 * 3600 > longest
