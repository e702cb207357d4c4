"""Rate limits, counted in Postgres so they hold across every Lambda instance and the local server."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest


def attempt_login(api, username="alice", password="wrong-password", headers=None):
    return api.request(
        "POST", "/api/v1/token/", json_body={"username": username, "password": password}, headers=headers
    )


def test_logins_are_limited_per_username_whatever_the_password(api, users):
    users.register("alice")
    for _ in range(10):
        assert attempt_login(api).status_code == 401
    # the 11th in the minute is refused before any password is checked, even the right one
    reply = attempt_login(api, password="correct-horse-9")
    assert reply.status_code == 429
    assert 1 <= int(reply.headers["retry-after"]) <= 6
    assert reply.json() == {
        "detail": f"Request was throttled. Expected available in {reply.headers['retry-after']} seconds."
    }
    # and the username's other forms count as the same account
    assert attempt_login(api, username="ALICE").status_code == 429


def test_the_username_limit_counts_every_spelling_of_the_name(lambda_api, db, settings_env):
    from conftest import Users

    settings_env(RATE_LIMIT_LOGIN_PER_ADDRESS="0")  # the per-address limit would hide it
    Users(lambda_api).register("alice")
    for name in ["alice", "ALICE", "Alice", "aLiCe", "ａｌｉｃｅ"] * 2:  # fullwidth too: NFKC folds it
        assert attempt_login(lambda_api, username=name).status_code == 401
    assert attempt_login(lambda_api, username="ALIce", password="correct-horse-9").status_code == 429
    assert attempt_login(lambda_api, username="bob").status_code == 401  # another name's count is its own


def test_a_client_that_waits_out_retry_after_is_let_in(db):
    from tickerwatch.data import ratelimits
    from tickerwatch.errors import RateLimited

    interval = 60 / 8  # 8 a minute: once the burst is spent, one each 7.5 s
    t0 = datetime(2024, 5, 15, 14, tzinfo=UTC)

    def take(at):
        return db.one(lambda conn: ratelimits.take(conn, "test:retry-after", interval, 60 - interval, at))

    assert [take(t0) for _ in range(8)] == [0] * 8
    wait = take(t0)
    retry_after = RateLimited(wait).retry_after
    assert wait == interval and retry_after == 8  # whole seconds, rounded up
    assert take(t0 + timedelta(seconds=retry_after - 1)) > 0  # a second early: still refused
    assert take(t0 + timedelta(seconds=retry_after)) == 0
    assert [RateLimited(w).retry_after for w in (0.001, 1.0, 1.01, 2.0)] == [1, 1, 2, 2]


def test_logins_are_limited_per_address_across_usernames_and_forged_headers(api):
    for i in range(10):
        headers = {"X-Forwarded-For": f"198.51.100.{i}", "X-Real-IP": f"198.51.100.{i}"}
        assert attempt_login(api, username=f"user{i}", headers=headers).status_code == 401
    reply = attempt_login(api, username="someone-else", headers={"X-Forwarded-For": "192.0.2.99"})
    assert reply.status_code == 429


def test_the_limit_is_shared_by_every_instance(lambda_api, local_server, db):
    http = httpx.Client(base_url=local_server.url)
    for i in range(10):  # alternate between a "Lambda instance" and the local server process
        if i % 2:
            assert attempt_login(lambda_api, username="mallory").status_code == 401
        else:
            assert http.post("/api/v1/token/", json={"username": "mallory", "password": "x"}).status_code == 401
    assert attempt_login(lambda_api, username="mallory").status_code == 429
    assert http.post("/api/v1/token/", json={"username": "mallory", "password": "x"}).status_code == 429


def test_refreshes_are_limited_per_address(api):
    started = time.monotonic()
    answers = []
    while len(answers) < 60 and 429 not in answers:
        reply = api.request("POST", "/api/v1/token/refresh/", json_body={"refresh": "garbage"})
        answers.append(reply.status_code)
    elapsed = time.monotonic() - started
    assert answers[-1] == 429 and set(answers[:-1]) == {401}
    # 30 a minute: a burst of 30, then one more each 2 seconds, which a loaded machine can take to send them
    assert 30 <= len(answers) - 1 <= 30 + int(elapsed / 2)
    assert 1 <= int(reply.headers["retry-after"]) <= 2


def test_registrations_are_limited_per_address(api, db):
    for i in range(5):
        body = {"username": f"user{i}", "email": f"user{i}@example.com", "password": "correct-horse-9"}
        assert api.request("POST", "/api/v1/register/", json_body=body).status_code == 201
    body = {"username": "user5", "email": "user5@example.com", "password": "correct-horse-9"}
    assert api.request("POST", "/api/v1/register/", json_body=body).status_code == 429
    assert db.run(lambda conn: conn.execute("SELECT count(*) AS n FROM users").fetchone()["n"]) == 5


@pytest.mark.parametrize(
    ("setting", "method", "path", "body"),
    [
        ("RATE_LIMIT_PREDICT_PER_USER", "POST", "/api/v1/predict/", {"ticker": "GOOG", "plots": False}),
        ("RATE_LIMIT_ALERT_WRITES_PER_USER", "DELETE", "/api/v1/alerts/12345/", None),
    ],
)
def test_per_user_limits_count_each_user_apart(lambda_api, db, settings_env, setting, method, path, body):
    from conftest import Users

    settings_env(**{setting: "2"})
    people = Users(lambda_api)
    alice, bob = people.signed_in("alice"), people.signed_in("bob")
    first = [lambda_api.request(method, path, json_body=body, headers=alice).status_code for _ in range(3)]
    assert first[:2] != [429, 429] and first[2] == 429
    assert lambda_api.request(method, path, json_body=body, headers=bob).status_code != 429


def test_a_limit_of_zero_turns_it_off(lambda_api, db, settings_env):
    settings_env(RATE_LIMIT_LOGIN_PER_USERNAME="0", RATE_LIMIT_LOGIN_PER_ADDRESS="0")
    for _ in range(15):
        assert attempt_login(lambda_api).status_code == 401


def test_the_algorithm_on_a_fixed_clock(db):
    """GCRA, 10 a minute: a burst of 10, then one every 6 seconds; the refusal says how long to wait."""
    from datetime import UTC, datetime, timedelta

    from tickerwatch.data.ratelimits import take

    t0 = datetime(2024, 5, 15, 12, 0, tzinfo=UTC)

    def at(seconds: float) -> float:
        return db.run(lambda conn: take(conn, "k", 6.0, 54.0, now=t0 + timedelta(seconds=seconds)))

    assert [at(0) for _ in range(10)] == [0.0] * 10
    assert at(0) == pytest.approx(6.0)
    assert at(5.9) == pytest.approx(0.1)
    assert at(6.0) == 0.0  # one more every 6 seconds
    assert at(6.0) == pytest.approx(6.0)
    assert at(120) == 0.0 and [at(120) for _ in range(9)] == [0.0] * 9  # a quiet minute refills the burst
    assert at(120) > 0
    assert db.run(lambda conn: take(conn, "other", 6.0, 54.0, now=t0)) == 0.0  # keys are apart


def test_a_refused_request_emits_the_metric_its_alarm_watches(db, lambda_api, settings_env, capsys):
    # ``db``: a fresh database, so the address's bucket is full (an earlier test on this worker may
    # have spent it: the shuffled order once put one there, and the first request was a 429).
    import json

    from tickerwatch.observability import METRIC_THROTTLED, SERVICE

    settings_env(RATE_LIMIT_REFRESH_PER_ADDRESS="1")
    capsys.readouterr()
    assert lambda_api.request("POST", "/api/v1/token/refresh/", json_body={"refresh": "x"}).status_code == 401
    assert lambda_api.request("POST", "/api/v1/token/refresh/", json_body={"refresh": "x"}).status_code == 429
    # The handler flushes its metrics as CloudWatch embedded metric format on stdout, as in Lambda:
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    throttled = [doc for doc in emitted if METRIC_THROTTLED in doc]
    assert len(throttled) == 1 and throttled[0][METRIC_THROTTLED] == [1.0]
    # with the dimension and namespace the alarm in template.yaml names (the namespace comes from the environment)
    declared = throttled[0]["_aws"]["CloudWatchMetrics"][0]
    assert declared["Dimensions"] == [["service"]] and throttled[0]["service"] == SERVICE
    assert declared["Namespace"] == "tickerwatch-test"
