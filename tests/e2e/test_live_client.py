"""The live web client in a real Chromium, against a server whose replayed market is open at any hour
and steps every second: prices reach the pages with no reload, a crossing alert fires and says so in
a toast, a fill updates the portfolio, and a dropped socket reconnects and catches up."""

from __future__ import annotations

import re
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from e2e_settings import e2e_server
from playwright.sync_api import Page, expect
from test_web_client import PASSWORD, assert_accessible, move_market, sign_up, unique


@pytest.fixture(scope="module")
def site(web_build, market_dir, e2e_database):
    server = e2e_server(web_build, e2e_database, f"anytime:{market_dir}", TICKERWATCH_REPLAY_STEP_SECONDS="1")
    yield server
    server.stop()


def token_of(site, username: str) -> dict[str, str]:
    reply = httpx.post(site.url + "/api/v1/token/", json={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {reply.json()['access']}"}


def post(site, path: str, auth: dict, body: dict) -> dict:
    reply = httpx.post(site.url + path, json=body, headers=auth, timeout=30)
    assert reply.status_code in (200, 201), reply.text
    return reply.json()


def signed_up_tracking_goog(page: Page, site) -> tuple[str, dict[str, str]]:
    username = unique("live")
    sign_up(page, username)
    auth = token_of(site, username)
    post(site, "/api/v1/stocks/", auth, {"symbol": "GOOG"})
    return username, auth


def moment(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def wait_until_judged(site, username: str, alert_id: int, timeout: float = 30) -> None:
    """Until the evaluator has judged the alert on a quote stamped after it was created. Quotes are
    stamped with their step's start (whole seconds): a market moved in the second the alert was made
    would be quoted at a moment before it, and a crossing then is rightly not the alert's news."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        auth = token_of(site, username)  # a new login each time: the test tokens live 6 s
        alert = httpx.get(f"{site.url}/api/v1/alerts/{alert_id}/", headers=auth).json()
        judged_on = alert["last_evaluated_quote_at"]
        if judged_on is not None and moment(judged_on) > moment(alert["created_at"]):
            return
        time.sleep(0.2)
    raise AssertionError("the alert was never judged on a quote of its own")


def settled_price(site, symbol: str) -> Decimal:
    """The stored price once a quote made after this call is in: an earlier test may just have moved the
    market, and the stored price lags it by a fetch (a threshold set from the old level was never crossed)."""
    after = datetime.now(UTC)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        stock = next(s for s in httpx.get(site.url + "/api/v1/stocks/").json() if s["symbol"] == symbol)
        if stock["price_time"] and moment(stock["price_time"]) > after:
            return Decimal(stock["current_price"])
        time.sleep(0.2)
    raise AssertionError(f"no new quote of {symbol}")


@contextmanager
def explained_by(server_side):
    """A page that never showed what was pushed: say what the API holds, so a failure tells a change
    never made from an event never heard."""
    try:
        yield
    except AssertionError as missed:
        reply = server_side()
        raise AssertionError(f"{missed}\n\nthe API holds: {reply.status_code} {reply.text[:2000]}") from None


def no_reload_marker(page: Page) -> None:
    page.evaluate("window.__sameDocument = true")


def was_not_reloaded(page: Page) -> bool:
    return page.evaluate("window.__sameDocument === true")


def test_a_price_change_reaches_the_stock_page_and_a_watchlist_with_no_reload(page: Page, site, market_dir):
    _, auth = signed_up_tracking_goog(page, site)
    post(site, "/api/v1/watchlists/", auth, {"name": "Live", "symbols": ["GOOG"]})
    page.goto("/stocks/GOOG")
    expect(page.locator("#live-status")).to_have_text("Live")
    expect(page.locator("#market-status")).to_contain_text("replayed market, open at any hour")
    no_reload_marker(page)
    last = page.locator(".last-price")
    seen = last.inner_text()
    expect(last).not_to_have_text(seen, timeout=2_500)  # a step a second, pushed as it commits
    expect(last).to_contain_text(" ET")
    assert was_not_reloaded(page)
    assert_accessible(page)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Watchlists", exact=True).click()
    cell = page.locator("section[data-watchlist=Live] tr[data-symbol=GOOG] td").first
    expect(cell).to_have_text(re.compile(r"^\$[\d,]+\.\d\d$"))
    no_reload_marker(page)
    shown = cell.inner_text()
    # the market moved 10%: once earlier tests have halved it, a step of the walk can be under a cent, and a
    # price shown to the cent would not change
    move_market(market_dir / "GOOG.csv", 1.1)
    expect(cell).not_to_have_text(shown, timeout=2_500)
    assert was_not_reloaded(page)
    assert_accessible(page)


def test_a_crossing_alert_fires_and_its_toast_shows(page: Page, site, market_dir):
    username, auth = signed_up_tracking_goog(page, site)
    page.goto("/alerts")
    expect(page.locator("#live-status")).to_have_text("Live")
    threshold = (settled_price(site, "GOOG") * Decimal("0.98")).quantize(Decimal("0.01"))
    body = {
        "stock_symbol": "GOOG",
        "alert_type": "threshold",
        "condition": "crosses_below",
        "threshold_price": str(threshold),
    }
    alert = post(site, "/api/v1/alerts/", auth, body)
    # Once the alert has been judged on a quote of its own (a crossing is between two quotes it saw),
    wait_until_judged(site, username, alert["id"])
    # when the market halves (the next step starts from a lower close; far past the threshold whatever
    # level an earlier test left the stored price at),
    move_market(market_dir / "GOOG.csv", 0.5)
    # then the alert fires and says so, and the page catches up.
    toast = page.locator("#toasts .toast").first
    with explained_by(lambda: httpx.get(f"{site.url}/api/v1/alerts/{alert['id']}/", headers=token_of(site, username))):
        expect(toast).to_contain_text("Alert fired: GOOG", timeout=60_000)
    expect(page.get_by_role("heading", name="Recently fired")).to_be_visible()
    assert_accessible(page)


def test_a_fill_updates_the_portfolio_with_no_reload(page: Page, site, market_dir):
    username, auth = signed_up_tracking_goog(page, site)
    page.goto("/trade")
    expect(page.locator("#live-status")).to_have_text("Live")
    no_reload_marker(page)
    limit = (settled_price(site, "GOOG") * Decimal("0.98")).quantize(Decimal("0.01"))
    body = {
        "symbol": "GOOG",
        "side": "buy",
        "qty": "1",
        "type": "limit",
        "limit_price": str(limit),
        "time_in_force": "gtc",
    }
    assert post(site, "/api/v1/orders/", auth, body)["status"] == "open"
    expect(page.locator("#open-orders tr[data-order]")).to_have_count(1)  # its cash held back, shown live
    move_market(market_dir / "GOOG.csv", 0.5)
    with explained_by(lambda: httpx.get(f"{site.url}/api/v1/orders/", headers=token_of(site, username))):
        expect(page.locator("#toasts .toast").first).to_contain_text("Order filled: GOOG", timeout=60_000)
    expect(page.locator("#portfolio tr[data-symbol=GOOG]")).to_be_visible(timeout=30_000)
    assert was_not_reloaded(page)
    assert_accessible(page)


def test_a_dropped_socket_reconnects_and_catches_up(page: Page, site):
    _, auth = signed_up_tracking_goog(page, site)
    page.goto("/trade")
    status = page.locator("#live-status")
    expect(status).to_have_text("Live")
    no_reload_marker(page)
    # The server drops every socket; a market order fills while this one is away.
    assert httpx.post(site.url + "/event/drop").json()["dropped"] >= 1
    post(site, "/api/v1/orders/", auth, {"symbol": "GOOG", "side": "buy", "qty": "2", "type": "market"})
    expect(status).to_have_text("Live", timeout=10_000)
    expect(page.locator("#portfolio tr[data-symbol=GOOG]")).to_be_visible(timeout=5_000)
    assert was_not_reloaded(page)
    # and prices flow again on the new socket
    page.goto("/stocks/GOOG")
    last = page.locator(".last-price")
    seen = last.inner_text()
    time.sleep(0.1)
    expect(last).not_to_have_text(seen, timeout=2_500)
