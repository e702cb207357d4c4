"""Webhooks: registration and its refusals, signed deliveries to a local receiver that verifies them
with `standardwebhooks`, retries, the attempt limit, timeouts, the delivery log, DNS rebinding, TLS
to the checked address, and the test-delivery endpoint."""

from __future__ import annotations

import datetime as dt
import ssl
from datetime import timedelta
from decimal import Decimal

import pytest
from conftest import Users
from fakes import NullSender
from market import WED_3PM, quote
from receiver import Answer, Receiver

from tickerwatch import webhooks
from tickerwatch.notifications import dispatch_notifications
from tickerwatch.processing import process_prices
from tickerwatch.webhooks import WebhookPoster

HOOKS = "/api/v1/webhooks/"
PUBLIC = "https://93.184.216.34/hooks/tickerwatch"


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def local_hooks(settings_env):
    """Webhooks to this machine allowed, as TICKERWATCH_WEBHOOK_ALLOW_PRIVATE=true does for local development."""
    settings_env(TICKERWATCH_WEBHOOK_ALLOW_PRIVATE="true", TICKERWATCH_WEBHOOK_TIMEOUT_SECONDS="1")


def evaluate(db, now=WED_3PM, poster=None, max_attempts=3):
    return process_prices(
        db,
        NullSender(),
        max_price_age_minutes=120,
        max_attempts=max_attempts,
        now=now,
        webhook_poster=poster or WebhookPoster(allow_private=True, timeout_seconds=1),
    )


def hooked_alert(api, db, receiver, auth):
    """ACME at 100, a webhook to the receiver, an alert "ACME above 110" naming it, then ACME at 111."""
    quote(db, "ACME", 100, WED_3PM - timedelta(minutes=10))
    hook = api.request("POST", HOOKS, json_body={"url": receiver.url()}, headers=auth)
    assert hook.status_code == 201, hook.content
    receiver.secret = hook.json()["secret"]
    body = {
        "stock_symbol": "ACME",
        "alert_type": "threshold",
        "condition": "above",
        "threshold_price": "110",
        "webhook_id": hook.json()["id"],
    }
    alert = api.request("POST", "/api/v1/alerts/", json_body=body, headers=auth)
    assert alert.status_code == 201, alert.content
    assert alert.json()["webhook_id"] == hook.json()["id"]
    quote(db, "ACME", 111, WED_3PM - timedelta(minutes=1))
    return hook.json(), alert.json()


def webhook_of_last_trigger(api, auth) -> dict:
    return api.request("GET", "/api/v1/alerts/triggered/", headers=auth).json()["results"][0]["webhook"]


# ---------------------------------------------------------------- registration


def test_register_list_read_delete_with_the_secret_shown_once(api, users):
    auth = users.signed_in()
    created = api.request("POST", HOOKS, json_body={"url": PUBLIC}, headers=auth)
    assert created.status_code == 201, created.content
    hook = created.json()
    assert hook["url"] == PUBLIC and hook["secret"].startswith("whsec_")
    webhooks.Webhook(hook["secret"])  # a secret standardwebhooks reads
    listed = api.request("GET", HOOKS, headers=auth).json()
    assert listed == [{"id": hook["id"], "url": PUBLIC, "created_at": hook["created_at"]}]
    url = f"{HOOKS}{hook['id']}/"
    assert "secret" not in api.request("GET", url, headers=auth).json()

    other = users.signed_in("mallory")
    assert api.request("GET", url, headers=other).status_code == 404
    assert api.request("DELETE", url, headers=other).status_code == 404
    assert api.request("POST", url + "test/", headers=other).status_code == 404
    assert api.request("GET", HOOKS, headers=other).json() == []

    assert api.request("DELETE", url, headers=auth).status_code == 204
    assert api.request("GET", url, headers=auth).status_code == 404


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://93.184.216.34/hook", "Must be an https URL."),
        ("https://127.0.0.1/hook", "Must be a public address; '127.0.0.1' resolves to 127.0.0.1."),
        ("https://10.0.0.5/hook", "Must be a public address; '10.0.0.5' resolves to 10.0.0.5."),
        ("https://192.168.1.20:8443/hook", "Must be a public address; '192.168.1.20' resolves to 192.168.1.20."),
        (
            "https://169.254.169.254/latest/meta-data/",
            "Must be a public address; '169.254.169.254' resolves to 169.254.169.254.",
        ),
        ("https://[::1]/hook", "Must be a public address; '::1' resolves to ::1."),
        ("https://[::ffff:127.0.0.1]/hook", "Must be a public address; '::ffff:7f00:1' resolves to ::ffff:127.0.0.1."),
        ("https://localhost/hook", "Must be a public address; 'localhost' resolves to"),
        ("https://user:pw@93.184.216.34/hook", "Must not carry credentials"),
    ],
)
def test_private_and_unsafe_targets_are_refused(api, users, url, message):
    auth = users.signed_in()
    reply = api.request("POST", HOOKS, json_body={"url": url}, headers=auth)
    assert reply.status_code == 400, reply.content
    assert list(reply.fields()) == ["url"] and reply.fields()["url"][0].startswith(message)
    assert api.request("GET", HOOKS, headers=auth).json() == []


def test_not_a_url_and_too_many_webhooks(api, users):
    auth = users.signed_in()
    assert api.request("POST", HOOKS, json_body={"url": "not a url"}, headers=auth).status_code == 400
    for i in range(webhooks.MAX_WEBHOOKS):
        assert api.request("POST", HOOKS, json_body={"url": f"{PUBLIC}/{i}"}, headers=auth).status_code == 201
    over = api.request("POST", HOOKS, json_body={"url": PUBLIC}, headers=auth)
    assert over.status_code == 409 and "10 webhooks" in over.json()["detail"]


def test_an_alert_cannot_name_another_users_webhook(api, users, db):
    quote(db, "ACME", 100, WED_3PM)
    theirs = users.signed_in("mallory")
    hook = api.request("POST", HOOKS, json_body={"url": PUBLIC}, headers=theirs).json()
    auth = users.signed_in("alice")
    body = {"stock_symbol": "ACME", "alert_type": "threshold", "condition": "above", "threshold_price": "110"}
    reply = api.request("POST", "/api/v1/alerts/", json_body=body | {"webhook_id": hook["id"]}, headers=auth)
    assert reply.status_code == 400 and reply.fields() == {"webhook_id": ["You have no webhook with this id."]}


# ---------------------------------------------------------------- delivery


def test_a_firing_alert_is_delivered_signed_once(lambda_api, db, receiver, local_hooks):
    auth = Users(lambda_api).signed_in()
    _, alert = hooked_alert(lambda_api, db, receiver, auth)
    assert evaluate(db).triggered == 1
    assert receiver.rejected == [] and receiver.types() == ["alert.triggered"], receiver.dump()
    delivery = receiver.received[0]
    data = delivery["payload"]["data"]
    assert data["alert"]["id"] == alert["id"] and data["alert"]["stock_symbol"] == "ACME"
    assert Decimal(data["alert"]["threshold_price"]) == 110 and Decimal(data["trigger"]["price"]) == 111
    assert data["trigger"]["sequence"] == 1 and delivery["path"] == "/hook"
    assert delivery["headers"]["webhook-id"].startswith("msg_")
    assert delivery["headers"]["content-type"] == "application/json"

    evaluate(db, now=WED_3PM + timedelta(minutes=5))  # nothing new fires, nothing is sent again
    assert len(receiver.received) == 1
    log = webhook_of_last_trigger(lambda_api, auth)
    assert (log["status"], log["attempts"], log["url"]) == ("sent", 1, receiver.url())
    assert [(d["attempt"], d["status_code"], d["error"]) for d in log["deliveries"]] == [(1, 200, None)]
    assert log["deliveries"][0]["response_excerpt"] == "ok"


def test_a_failed_delivery_is_retried_with_the_same_id(lambda_api, db, receiver, local_hooks):
    auth = Users(lambda_api).signed_in()
    hooked_alert(lambda_api, db, receiver, auth)
    receiver.answers = [Answer(500, b"receiver broke")]
    evaluate(db)
    log = webhook_of_last_trigger(lambda_api, auth)
    assert (log["status"], log["error"]) == ("pending", "The receiver answered 500.")
    evaluate(db, now=WED_3PM + timedelta(seconds=30))  # before the backoff: not yet
    assert len(receiver.received) == 1
    evaluate(db, now=WED_3PM + timedelta(minutes=2))
    log = webhook_of_last_trigger(lambda_api, auth)
    assert log["status"] == "sent"
    assert [(d["attempt"], d["status_code"]) for d in log["deliveries"]] == [(1, 500), (2, 200)]
    assert log["deliveries"][0]["response_excerpt"] == "receiver broke"
    ids = {r["headers"]["webhook-id"] for r in receiver.received}
    assert len(receiver.received) == 2 and len(ids) == 1  # a receiver drops the repeat by its id


def test_delivery_gives_up_after_the_attempt_limit(lambda_api, db, receiver, local_hooks):
    auth = Users(lambda_api).signed_in()
    hooked_alert(lambda_api, db, receiver, auth)
    receiver.answers = [Answer(503)] * 3
    for minutes in (0, 2, 5, 30):
        evaluate(db, now=WED_3PM + timedelta(minutes=minutes))
    log = webhook_of_last_trigger(lambda_api, auth)
    assert (log["status"], log["attempts"]) == ("failed", 3)
    assert [d["status_code"] for d in log["deliveries"]] == [503, 503, 503]
    assert len(receiver.received) == 3


def test_a_slow_receiver_times_out_and_a_long_answer_is_cut(lambda_api, db, receiver, local_hooks):
    auth = Users(lambda_api).signed_in()
    hooked_alert(lambda_api, db, receiver, auth)
    receiver.answers = [Answer(200, delay=2.5), Answer(200, b"x" * 10_000)]
    evaluate(db, poster=WebhookPoster(allow_private=True, timeout_seconds=0.5))
    log = webhook_of_last_trigger(lambda_api, auth)
    assert log["status"] == "pending"
    assert log["deliveries"][0]["error"] == "The receiver did not answer within 0.5 seconds."
    assert log["deliveries"][0]["duration_ms"] < 2000
    evaluate(db, now=WED_3PM + timedelta(minutes=2))
    log = webhook_of_last_trigger(lambda_api, auth)
    assert log["status"] == "sent" and log["deliveries"][1]["response_excerpt"] == "x" * 500


def test_a_webhook_deleted_before_delivery_is_skipped(lambda_api, db, receiver, local_hooks):
    auth = Users(lambda_api).signed_in()
    hook, _ = hooked_alert(lambda_api, db, receiver, auth)
    receiver.answers = [Answer(500)]
    evaluate(db)
    assert lambda_api.request("DELETE", f"{HOOKS}{hook['id']}/", headers=auth).status_code == 204
    evaluate(db, now=WED_3PM + timedelta(minutes=2))
    log = webhook_of_last_trigger(lambda_api, auth)
    assert (log["status"], log["error"]) == ("skipped", "The webhook was deleted.")
    assert len(receiver.received) == 1


def test_private_targets_are_refused_at_send_time(lambda_api, db, receiver, local_hooks):
    """Registered while private targets were allowed; the deployed rule refuses the delivery."""
    auth = Users(lambda_api).signed_in()
    hooked_alert(lambda_api, db, receiver, auth)
    evaluate(db, poster=WebhookPoster(allow_private=False))
    log = webhook_of_last_trigger(lambda_api, auth)
    assert log["deliveries"][0]["error"] == "Refused: Must be an https URL."
    assert receiver.received == []


def test_a_name_re_pointed_at_a_private_address_is_refused_before_connecting(db, receiver):
    from tickerwatch.data.users import insert_user

    user = db.run(lambda conn: insert_user(conn, "alice", "alice", "alice@example.com", "x")).id
    lookups = iter([["93.184.216.34"], ["93.184.216.34", "10.0.0.7"]])
    poster = WebhookPoster(resolver=lambda host, port: next(lookups))
    hook = webhooks.create_webhook(db, user, "https://hooks.example.com/in", poster)
    delivery = poster.post(hook.url, hook.secret, "msg_1", {"type": "webhook.test"})
    assert delivery.error == "Refused: Must be a public address; 'hooks.example.com' resolves to 10.0.0.7."
    assert delivery.status_code is None and not delivery.delivered


def test_tls_goes_to_the_checked_address_and_verifies_the_hosts_certificate(tmp_path, monkeypatch):
    cert, key = self_signed(tmp_path, "hooks.test")
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    receiver = Receiver(secret=webhooks.new_secret()).start(tls_context=server_tls)
    try:
        trusting = ssl.create_default_context(cafile=str(cert))
        monkeypatch.setattr(webhooks, "ssl_context", lambda: trusting)
        pinned = WebhookPoster(allow_private=True, resolver=lambda host, port: ["127.0.0.1"])
        url = receiver.url(host="hooks.test", scheme="https")
        delivery = pinned.post(url, receiver.secret, "msg_tls", {"type": "webhook.test"})
        assert delivery.delivered, delivery.error
        assert receiver.types() == ["webhook.test"] and receiver.received[0]["headers"]["host"].startswith("hooks.test")
        wrong_name = pinned.post(receiver.url(host="other.test", scheme="https"), receiver.secret, "m2", {})
        assert "certificate" in wrong_name.error.lower() or "hostname" in wrong_name.error.lower()
        assert len(receiver.received) == 1
    finally:
        receiver.stop()


def test_the_test_endpoint_sends_a_signed_test_message(lambda_api, db, receiver, local_hooks):
    auth = Users(lambda_api).signed_in()
    hook = lambda_api.request("POST", HOOKS, json_body={"url": receiver.url()}, headers=auth).json()
    receiver.secret = hook["secret"]
    reply = lambda_api.request("POST", f"{HOOKS}{hook['id']}/test/", headers=auth)
    assert reply.status_code == 200
    assert reply.json() | {"duration_ms": 0} == {
        "delivered": True,
        "status_code": 200,
        "error": None,
        "response_excerpt": "ok",
        "duration_ms": 0,
    }
    assert receiver.types() == ["webhook.test"] and receiver.rejected == []
    receiver.answers = [Answer(404, b"no such hook")]
    failed = lambda_api.request("POST", f"{HOOKS}{hook['id']}/test/", headers=auth).json()
    assert (failed["delivered"], failed["status_code"], failed["error"]) == (False, 404, "The receiver answered 404.")


def test_a_delivery_keeps_the_urls_path_and_query_string(lambda_api, db, receiver, local_hooks):
    auth = Users(lambda_api).signed_in()
    url = receiver.url("/hooks/in?team=ops&token=a%2Fb")
    hook = lambda_api.request("POST", HOOKS, json_body={"url": url}, headers=auth).json()
    receiver.secret = hook["secret"]
    assert lambda_api.request("POST", f"{HOOKS}{hook['id']}/test/", headers=auth).json()["delivered"]
    assert [r["path"] for r in receiver.received] == ["/hooks/in?team=ops&token=a%2Fb"]


def test_dispatch_sends_webhooks_without_an_email_quota(db, lambda_api, receiver, local_hooks):
    """Webhook deliveries do not wait on the email send rate (SES's quota is not the receiver's)."""
    auth = Users(lambda_api).signed_in()
    hooked_alert(lambda_api, db, receiver, auth)
    process_prices(
        db,
        NullSender(),
        max_price_age_minutes=120,
        max_attempts=3,
        now=WED_3PM,
        send_rate=0.5,
        webhook_poster=WebhookPoster(allow_private=True),
    )
    assert len(receiver.received) == 1
    assert dispatch_notifications(db, NullSender(), max_attempts=3, now=WED_3PM) == (0, 0)


def self_signed(folder, host: str):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path
