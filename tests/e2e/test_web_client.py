"""A person using the web client, at phone and desktop width (each test runs at both)."""

from __future__ import annotations

import csv
import os
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import jwt
import pytest
from e2e_settings import ACCESS_TOKEN_TTL_SECONDS, ROOT
from playwright.sync_api import Page, expect

# One pytest-xdist worker builds the client, starts the server and the browser, and runs them all.
pytestmark = pytest.mark.xdist_group("browser")

AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "correct-horse-9"


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def assert_accessible(page: Page) -> None:
    """axe-core on the page as it is: no serious or critical violation."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}))"""
    )
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not serious, (page.url, serious)


def sign_up(page: Page, username: str) -> None:
    page.goto("/signup")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(f"{username}@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/stocks$"))
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def open_nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True).click()


def move_market(csv_path: Path, factor: float) -> None:
    """Scale the file's last bar: the replayed market's latest prices follow it on the next fetch."""
    with csv_path.open(newline="") as f:
        rows = list(csv.reader(f))
    header, last = rows[0], rows[-1]
    for column in ("Open", "High", "Low", "Close", "Adj Close"):
        i = header.index(column)
        last[i] = f"{float(last[i]) * factor:.4f}"
    # Written beside it and moved into place, as a data file should be updated: the server never reads
    # half a file.
    staged = csv_path.with_suffix(".partial")
    with staged.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    staged.replace(csv_path)


def new_york_time(iso: str) -> str:
    """How the client shows a moment: New York time, labelled ("Dec 4, 2026, 4:00 PM ET")."""
    from zoneinfo import ZoneInfo

    moment = datetime.fromisoformat(iso).astimezone(ZoneInfo("America/New_York"))
    return f"{moment:%b} {moment.day}, {moment.year}, {moment.hour % 12 or 12}:{moment:%M %p} ET"


def current_price(site, symbol: str) -> Decimal:
    stocks = httpx.get(site.url + "/api/v1/stocks/").json()
    return Decimal(next(s for s in stocks if s["symbol"] == symbol)["current_price"])


def test_sign_up_shows_field_errors_then_logs_in_and_out(page: Page, site):
    username = unique("ann")
    page.goto("/signup")
    assert_accessible(page)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account").click()
    password_error = page.locator("#field-password-error")
    expect(password_error).to_contain_text("at least 8 characters")
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "")
    expect(page.locator("#field-email-error")).to_be_visible()
    expect(page.locator("form .form-status")).to_have_text("")  # no "Invalid input." box besides them
    assert_accessible(page)

    page.get_by_label("Email").fill(f"{username}@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/stocks$"))
    expect(page.get_by_role("status")).to_contain_text(f"Welcome, {username}")

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("status")).to_contain_text("logged out")
    page.goto("/alerts")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Falerts$"))

    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("wrong-password-1")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert").filter(has_text="credentials")).to_be_visible()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/alerts$"))  # back where the user was going
    assert_accessible(page)

    page.goto("/signup")
    page.get_by_label("Username").fill(username.upper())
    page.get_by_label("Email").fill(f"other-{username}@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#field-username-error")).to_contain_text("already exists")


def test_track_predict_alert_fires_once_prices_move(page: Page, site, market_dir):
    sign_up(page, unique("trader"))
    page.get_by_label("Symbol to track").fill("TSLA")
    page.get_by_role("button", name="Track").click()
    row = page.locator("tr[data-symbol=TSLA]")
    expect(row.locator("td.num").first).to_have_text(re.compile(r"^\$[\d,]+\.\d\d$"))
    expect(page.get_by_role("columnheader", name="Name")).to_have_count(0)  # the replayed market names none
    quoted = httpx.get(site.url + "/api/v1/stocks/").json()
    quoted = next(s for s in quoted if s["symbol"] == "TSLA")["price_time"]
    expect(row.locator("td").last).to_have_text(new_york_time(quoted))  # the market's time, whatever the browser's
    assert_accessible(page)

    row.get_by_role("link", name="TSLA").click()
    expect(page).to_have_url(re.compile(r"/stocks/TSLA$"))
    expect(page.locator("figure .chart canvas").first).to_be_visible()
    caption = page.locator("figcaption")
    expect(caption).to_contain_text(re.compile(r"^1Y: 2\d\d daily closes from .*grey bars: volume\.$"))
    expect(page.get_by_role("button", name="1Y")).to_have_attribute("aria-pressed", "true")
    page.get_by_role("button", name="1M").click()
    expect(caption).to_contain_text(re.compile(r"^1M: (19|2\d) daily closes from"))
    page.get_by_role("button", name="All").click()
    bars = len(httpx.get(site.url + "/api/v1/stocks/TSLA/prices/").json())
    expect(caption).to_contain_text(f"All: {bars:,} daily closes from")
    assert_accessible(page)
    page.get_by_role("link", name="Create an alert on TSLA").click()
    expect(page.get_by_label("Stock symbol")).to_have_value("TSLA")
    page.go_back()

    page.get_by_role("link", name="Predict TSLA").click()
    expect(page.get_by_label("Ticker")).to_have_value("TSLA")
    page.get_by_role("button", name="Predict", exact=True).click()
    expect(page.get_by_text("Forecast close on")).to_be_visible(timeout=60_000)
    expect(page.locator("section figure .chart canvas").first).to_be_visible()
    expect(page.locator(".verdict")).to_contain_text("naive guess \"tomorrow's close equals today's\"")
    expect(page.get_by_text(re.compile(r"the 80% band held the actual price \d+% of the time"))).to_be_visible()
    # which forecast is served and why, its skill in words, and the direction beside its baseline
    expect(page.locator("p.served").first).to_contain_text(re.compile(r"^Served: the (random walk|LSTM|combination)"))
    expect(page.locator("p.skill")).to_have_text(re.compile(r"^(No demonstrated skill|Demonstrated skill): "))
    expect(page.locator("p.direction").first).to_contain_text("The direction model puts the chance")
    expect(page.locator("p.direction").nth(1)).to_contain_text("always calling the more frequent direction was right")
    plots = page.locator("img[data-plot]")
    expect(plots).to_have_count(4)
    for i in range(4):
        plots.nth(i).scroll_into_view_if_needed()
        expect(plots.nth(i)).to_have_js_property("complete", True)
        assert plots.nth(i).evaluate("img => img.naturalWidth") > 100
    assert_accessible(page)

    open_nav(page, "History")
    expect(page.locator("nav a[aria-current=page]")).to_have_text(["History"])  # not "Predict" as well
    history_row = page.locator("table.data tbody tr").first
    expect(history_row).to_contain_text("TSLA")
    history_row.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/predictions/\d+$"))
    expect(page.get_by_text("Forecast close on")).to_be_visible()
    assert_accessible(page)

    level = (current_price(site, "TSLA") * Decimal("1.2")).quantize(Decimal("0.01"))
    open_nav(page, "Alerts")
    page.get_by_role("link", name="New alert").click()
    page.get_by_label("Stock symbol").fill("TSLA")
    page.get_by_label("Kind of alert").select_option("threshold")
    page.get_by_label("Condition").select_option("above")
    page.get_by_role("button", name="Create alert").click()  # no price yet: the API names the field
    expect(page.locator("#field-threshold_price-error")).to_be_visible()
    expect(page.get_by_label("Price (USD)")).to_be_focused()
    assert_accessible(page)
    page.get_by_label("Price (USD)").fill(str(level))
    page.get_by_role("button", name="Create alert").click()
    expect(page).to_have_url(re.compile(r"/alerts$"))
    card = page.locator("li.card").filter(has_text=f"TSLA is at or above ${level:,}")
    expect(card).to_be_visible()
    for _ in range(20):  # the evaluator judges a new alert at once; the page shows it on reload
        if card.locator(".state").inner_text() == "Watching":
            break
        page.reload()
    expect(card.locator(".state")).to_have_text("Watching")
    assert_accessible(page)

    move_market(market_dir / "TSLA.csv", 1.5)
    deadline = time.monotonic() + 30
    open_nav(page, "Triggered")
    while not page.locator("tr[data-trigger]").count() and time.monotonic() < deadline:
        time.sleep(0.5)
        page.reload()
    triggers = page.locator("tr[data-trigger]")
    expect(triggers).to_have_count(1)
    expect(triggers.first).to_contain_text(f"TSLA is at or above ${level:,}")
    expect(triggers.first).to_contain_text(re.compile(r"Email (sent|queued|sending)"))
    assert_accessible(page)
    time.sleep(2.5)  # more fetches, prices still above the level: it fired once
    page.reload()
    expect(page.locator("tr[data-trigger]")).to_have_count(1)
    open_nav(page, "Alerts")
    expect(page.locator("li.card .state").first).to_have_text("Triggered")
    expect(page.get_by_role("heading", name="Recently fired")).to_be_visible()
    expect(page.get_by_role("link", name="The trigger, with its email")).to_be_visible()  # not "All 1 triggers"

    open_nav(page, "Settings")
    checkbox = page.get_by_label(re.compile("Email me at"))
    expect(checkbox).to_be_checked()
    checkbox.uncheck()
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("alert")).to_have_text("Saved: emails are off.")
    page.reload()
    expect(page.get_by_label(re.compile("Email me at"))).not_to_be_checked()
    assert_accessible(page)


def test_alert_edit_pause_resume_delete(page: Page, site):
    sign_up(page, unique("ed"))
    page.get_by_label("Symbol to track").fill("GOOG")
    page.get_by_role("button", name="Track").click()
    expect(page.locator("tr[data-symbol=GOOG]")).to_be_visible()
    page.goto("/alerts/new?symbol=GOOG")
    page.get_by_label("Kind of alert").select_option("percent_change")
    page.get_by_label("Condition").select_option("down")
    expect(page.get_by_label("Price (USD)")).to_be_hidden()
    page.get_by_label("Percent").fill("5")
    page.get_by_label("Within how many minutes").fill("0")
    page.get_by_role("button", name="Create alert").click()
    expect(page.locator("#field-window_minutes-error")).to_be_visible()
    page.get_by_label("Within how many minutes").fill("60")
    page.get_by_role("button", name="Create alert").click()
    card = page.locator("li.card").filter(has_text="GOOG moves down 5.00% within 60 minutes")
    expect(card).to_be_visible()

    card.get_by_role("button", name="Pause").click()
    expect(card.locator(".state")).to_have_text("Paused")
    card.get_by_role("button", name="Resume").click()
    expect(card.get_by_role("button", name="Pause")).to_be_visible()

    card.get_by_role("link", name=re.compile("^Edit")).click()
    expect(page.get_by_label("Percent")).to_have_value("5.0000")
    page.get_by_label("Kind of alert").select_option("threshold")
    page.get_by_label("Condition").select_option("crosses_below")
    page.get_by_label("Price (USD)").fill("10.5")
    page.get_by_role("button", name="Save alert").click()
    edited = page.locator("li.card").filter(has_text="GOOG crosses below $10.50")
    expect(edited).to_be_visible()
    expect(page.locator("li.card")).to_have_count(1)

    page.once("dialog", lambda dialog: dialog.dismiss())
    edited.get_by_role("button", name="Delete").click()
    expect(edited).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    edited.get_by_role("button", name="Delete").click()
    expect(page.get_by_text("You have no alerts yet.")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("Alert deleted.")


def test_watchlists_show_prices_and_field_errors(page: Page, site):
    sign_up(page, unique("wl"))
    open_nav(page, "Watchlists")
    expect(page.get_by_text("No watchlists yet.")).to_be_visible()
    page.get_by_label("List name").fill("EV")
    page.get_by_label("Symbols").fill("tsla, NOPE")
    page.get_by_role("button", name="Create list").click()
    expect(page.locator("#field-symbols-error")).to_have_text("Unknown symbol 'NOPE'.")
    expect(page.get_by_label("Symbols")).to_be_focused()
    page.get_by_label("Symbols").fill("tsla goog")
    page.get_by_role("button", name="Create list").click()
    expect(page.get_by_role("status")).to_have_text("Created EV.")
    section = page.locator("section[data-watchlist=EV]")
    expect(section.locator("tbody tr")).to_have_count(2)
    price = section.locator("tr[data-symbol=TSLA] td").first
    expect(price).to_have_text(re.compile(r"^\$[\d,]+\.\d\d$"))
    shown = Decimal(price.inner_text().lstrip("$").replace(",", ""))
    assert abs(shown - current_price(site, "TSLA")) <= Decimal("0.01") * shown  # the replayed market moves
    assert_accessible(page)

    page.get_by_label("List name").fill("ev")
    page.get_by_role("button", name="Create list").click()
    expect(page.locator("#field-name-error")).to_have_text("You already have a watchlist with that name.")

    page.once("dialog", lambda dialog: dialog.accept())
    section.get_by_role("button", name="Delete EV").click()
    expect(page.get_by_text("No watchlists yet.")).to_be_visible()


def test_paper_trading_buys_rests_a_limit_and_cancels_it(page: Page, site):
    sign_up(page, unique("pt"))
    page.get_by_label("Symbol to track").fill("GOOG")
    page.get_by_role("button", name="Track").click()
    # The list is drawn again once tracking is done: a click before that can land on the old list's
    # row and be overtaken by the redraw (GOOG may be tracked already by an earlier test).
    expect(page.get_by_role("status")).to_have_text("Tracking GOOG.")
    page.locator("tr[data-symbol=GOOG]").get_by_role("link", name="GOOG").click()
    page.get_by_role("link", name="Trade GOOG").click()  # the ticket opens on the stock
    expect(page).to_have_url(re.compile(r"/trade\?symbol=GOOG$"))
    expect(page.get_by_label("Symbol")).to_have_value("GOOG")
    expect(page.locator("[data-figure=Equity] dd")).to_have_text("$100,000.00")
    expect(page.get_by_text("No positions.")).to_be_visible()
    # a history of one day is no chart (it was a flat line on an axis of a few cents)
    expect(page.locator(".empty-state")).to_have_text(
        "The history starts once a trading day has closed with this account open. Equity now: $100,000.00."
    )
    expect(page.locator("figure .chart")).to_have_count(0)
    assert_accessible(page)

    # the ticket shows the last price and what the order would cost, before it is placed
    last = current_price(site, "GOOG")
    ticket = page.locator("#ticket-quote")
    expect(ticket).to_contain_text(f"GOOG last ${last:,.2f} at ")
    page.get_by_label("Quantity").fill("2")
    cost = (2 * last).quantize(Decimal("0.01"), rounding="ROUND_CEILING")
    expect(ticket).to_contain_text(f"Estimated cost: ${cost:,}.")
    page.get_by_label("Side").select_option("sell")
    expect(ticket).to_contain_text("Estimated proceeds: $")
    page.get_by_label("Side").select_option("buy")
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("alert")).to_have_text(re.compile(r"^Filled: buy 2 GOOG at \$[\d,]+\.\d\d\.$"))
    row = page.locator("#positions tr[data-symbol=GOOG]")
    expect(row.locator("td").first).to_have_text("2")
    cash = Decimal(page.locator("[data-figure=Cash] dd").inner_text().lstrip("$").replace(",", ""))
    assert Decimal(90_000) < cash < Decimal(100_000)
    # a position's row is wider than a phone: its table scrolls, the page does not
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.get_by_label("Order type").select_option("limit")
    page.get_by_label("Quantity").fill("1")
    page.get_by_role("button", name="Place order").click()  # no limit price: the API names the field
    expect(page.locator("#field-limit_price-error")).to_have_text("A limit order needs a limit_price.")
    expect(page.get_by_label("Limit price")).to_be_focused()
    limit = (current_price(site, "GOOG") / 2).quantize(Decimal("0.01"))
    page.get_by_label("Limit price").fill(str(limit))
    page.get_by_label("Time in force").select_option("gtc")
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("alert")).to_have_text("Order placed: buy 1 GOOG, open.")
    open_orders = page.locator("#open-orders tbody tr")
    expect(open_orders).to_have_count(1)
    expect(open_orders.first).to_contain_text(f"limit ${limit:,}")
    power = Decimal(page.locator("[data-figure='Buying power'] dd").inner_text().lstrip("$").replace(",", ""))
    assert power == cash - limit  # the open buy reserves its cost
    assert_accessible(page)

    open_orders.first.get_by_role("button", name=re.compile("^Cancel order")).click()
    expect(page.get_by_text("Open orders: none.")).to_be_visible()
    expect(page.locator("#closed-orders tbody tr").first).to_contain_text("canceled")
    expect(page.locator("[data-figure='Buying power'] dd")).to_have_text(f"${cash:,.2f}")

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Sell all 2 GOOG").click()  # closing a position takes one action
    expect(page.get_by_text("No positions.")).to_be_visible()
    expect(page.locator("#closed-orders tbody tr").first).to_contain_text("sell 2 GOOG")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Reset the account").click()
    expect(page.locator("[data-figure=Cash] dd")).to_have_text("$100,000.00")
    expect(page.locator("#closed-orders tbody tr")).to_have_count(3)  # the history stays


class Receiver:
    """A webhook receiver on this machine that answers 204 and keeps what it was sent."""

    def __init__(self):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                received.append((dict(self.headers), self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/tickerwatch"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def test_webhooks_and_an_indicator_alert_that_delivers_to_one(page: Page, site):
    from standardwebhooks import Webhook

    receiver = Receiver()
    try:
        sign_up(page, unique("hook"))
        page.get_by_label("Symbol to track").fill("TSLA")  # whichever test ran before this one
        page.get_by_role("button", name="Track").click()
        expect(page.get_by_role("status")).to_have_text("Tracking TSLA.")
        open_nav(page, "Webhooks")
        expect(page.get_by_text("No webhooks yet.")).to_be_visible()
        page.get_by_label("Webhook URL").fill("ftp://example.com/x")
        page.get_by_role("button", name="Add webhook").click()
        expect(page.locator("#field-url-error")).to_contain_text("http")
        page.get_by_label("Webhook URL").fill(receiver.url)
        page.get_by_role("button", name="Add webhook").click()
        secret = page.locator("code.secret")
        expect(secret).to_have_text(re.compile(r"^whsec_"))
        card = page.locator(f"li[data-webhook='{receiver.url}']")
        card.get_by_role("button", name=f"Send a test to {receiver.url}").click()
        expect(card.get_by_role("status")).to_have_text(
            re.compile(r"^Delivered: the receiver answered 204 in \d+ ms\.$")
        )
        headers, body = receiver.received[-1]
        assert Webhook(secret.inner_text()).verify(body, headers)["type"] == "webhook.test"
        assert_accessible(page)

        open_nav(page, "Alerts")
        page.get_by_role("link", name="New alert").click()
        page.get_by_label("Stock symbol").fill("TSLA")
        page.get_by_label("Kind of alert").select_option("indicator")
        expect(page.get_by_label("Price (USD)")).to_be_hidden()
        page.get_by_label("Condition").select_option("crosses_above")
        page.get_by_label("Average", exact=True).select_option("sma")
        page.get_by_label("Of how many daily closes", exact=True).fill("1000")
        page.get_by_label("Compared with").select_option("sma")
        page.get_by_label("Of how many daily closes (second average)").fill("200")
        page.get_by_label("Also deliver to a webhook").select_option(label=receiver.url)
        page.get_by_role("button", name="Create alert").click()
        expect(page.locator("#field-period-error")).to_have_text("Input should be less than or equal to 400")
        page.get_by_label("Of how many daily closes", exact=True).fill("50")
        page.get_by_role("button", name="Create alert").click()
        expect(page.get_by_role("status")).to_have_text("Alert created.")
        expect(page.locator(".card .what strong")).to_have_text("TSLA SMA(50) crosses above its SMA(200)")

        open_nav(page, "Webhooks")
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name=f"Delete {receiver.url}").click()
        expect(page.get_by_text("No webhooks yet.")).to_be_visible()
    finally:
        receiver.close()


def expire_access_token(page: Page) -> None:
    """Put in the client's storage the same user's access token as it is ACCESS_TOKEN_TTL_SECONDS
    later: signed by the server's key, expired a second ago. The client and the server see what
    they would after the wait, without the wait (the server's own expiry check is tested with
    the tokens in tests/unit/test_tokens.py)."""
    from tickerwatch.accounts import TokenPolicy
    from tickerwatch.signing import SigningKeys

    access = page.evaluate("() => localStorage.getItem('tickerwatch.access')")
    user_id = int(jwt.decode(access, options={"verify_signature": False})["sub"])
    ttl = timedelta(seconds=ACCESS_TOKEN_TTL_SECONDS)
    policy = TokenPolicy(keys=SigningKeys(os.environ["JWT_SECRET"]), access_ttl=ttl, refresh_ttl=ttl)
    expired = policy.access_token(user_id, datetime.now(UTC) - ttl - timedelta(seconds=1))
    page.evaluate("(token) => localStorage.setItem('tickerwatch.access', token)", expired)


def test_session_survives_token_expiry_and_a_revoked_one_signs_out_cleanly(page: Page, site):
    sign_up(page, unique("tok"))
    refreshes = []
    page.on("request", lambda r: refreshes.append(r.url) if r.url.endswith("/api/v1/token/refresh/") else None)
    stored = "() => localStorage.getItem('tickerwatch.refresh')"
    first = page.evaluate(stored)

    expire_access_token(page)
    open_nav(page, "Alerts")  # two requests at once, both with the expired access token
    expect(page.get_by_role("heading", name="Your alerts")).to_be_visible()
    assert len(refreshes) == 1
    rotated = page.evaluate(stored)
    assert rotated and rotated != first

    # With no grace for reuse, this refresh works only because the rotated token was stored.
    expire_access_token(page)
    open_nav(page, "Settings")
    expect(page.get_by_role("heading", name="Settings")).to_be_visible()
    assert len(refreshes) == 2

    # Signed out elsewhere: the next refresh is refused, and the client signs out once.
    assert httpx.post(site.url + "/api/v1/logout/", json={"refresh": page.evaluate(stored)}).status_code == 204
    expire_access_token(page)
    open_nav(page, "Alerts")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Falerts$"))
    expect(page.get_by_role("status")).to_contain_text("Your session has ended")
    page.wait_for_timeout(1500)
    assert len(refreshes) == 3
    assert page.evaluate(stored) is None
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Log in")).to_be_visible()


def test_keyboard_only(page: Page, site):
    username = unique("kb")
    reply = httpx.post(
        site.url + "/api/v1/register/",
        json={"username": username, "email": f"{username}@example.com", "password": PASSWORD},
    )
    assert reply.status_code == 201
    page.goto("/login")
    expect(page.get_by_role("heading", name="Log in")).to_be_focused()  # each page focuses its heading
    page.keyboard.press("Tab")
    expect(page.get_by_label("Username")).to_be_focused()
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/stocks$"))
    for _ in range(20):
        if page.evaluate("document.activeElement.textContent") == "Settings":
            break
        page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Settings")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label(re.compile("Email me at"))).to_be_focused()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_have_text("Saved: emails are off.")


def test_api_errors_are_shown_in_words(page: Page, site):
    sign_up(page, unique("err"))
    page.get_by_label("Symbol to track").fill("NOSUCH")
    page.get_by_role("button", name="Track").click()
    expect(page.locator(".form-status.error")).to_contain_text("NOSUCH")
    page.goto("/predict?ticker=NOSUCH")
    page.get_by_role("button", name="Predict", exact=True).click()
    expect(page.locator(".form-status.error")).not_to_be_empty()
    page.goto("/predictions/999999")
    expect(page.get_by_role("alert")).to_have_text("Prediction not found.")
    expect(page.get_by_role("heading", level=1)).to_have_text("This page could not be loaded")
    assert_accessible(page)
    page.goto("/no/such/page")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()


def test_long_lists_page_and_a_phone_shows_content_first(page: Page, site):
    username = unique("many")
    sign_up(page, username)
    # the content starts under one row of navigation, not three rows of links
    assert page.get_by_role("heading", level=1).bounding_box()["y"] < 120

    def signed_in() -> dict[str, str]:
        tokens = httpx.post(site.url + "/api/v1/token/", json={"username": username, "password": PASSWORD}).json()
        return {"Authorization": f"Bearer {tokens['access']}"}

    auth = signed_in()
    httpx.post(site.url + "/api/v1/stocks/", json={"symbol": "GOOG"}, headers=auth)
    for level in range(26):
        body = {
            "stock_symbol": "GOOG",
            "alert_type": "threshold",
            "condition": "above",
            "threshold_price": str(5000 + level),
        }
        reply = httpx.post(site.url + "/api/v1/alerts/", json=body, headers=auth)
        if reply.status_code == 401:  # this suite's access tokens live ACCESS_TOKEN_TTL_SECONDS (6 s)
            auth = signed_in()
            reply = httpx.post(site.url + "/api/v1/alerts/", json=body, headers=auth)
        assert reply.status_code == 201, reply.text
    open_nav(page, "History")
    expect(page.locator("nav a[aria-current=page]")).to_have_text(["History"])  # "/predict" is not current too
    open_nav(page, "Alerts")
    expect(page.get_by_role("heading", name="Your 26 alerts")).to_be_visible()
    expect(page.locator("li.card")).to_have_count(25)
    quoted = next(s for s in httpx.get(site.url + "/api/v1/stocks/").json() if s["symbol"] == "GOOG")["price_time"]
    expect(page.locator("li.card").first).to_contain_text(f"at {new_york_time(quoted)}")  # market time, labelled
    pages = page.get_by_role("navigation", name="Pages of alerts")
    expect(pages).to_contain_text("Showing 1–25 of 26 alerts")
    pages.get_by_role("link", name="Next page").click()
    expect(page).to_have_url(re.compile(r"/alerts\?page=2$"))
    expect(page.locator("li.card")).to_have_count(1)
    expect(page.locator("li.card")).to_contain_text("$5,000.00")  # the oldest, last
    expect(pages).to_contain_text("Showing 26–26 of 26 alerts")
    expect(pages.get_by_role("link", name="Next page")).to_have_count(0)
    assert_accessible(page)
    pages.get_by_role("link", name="Previous page").click()
    expect(page.locator("li.card")).to_have_count(25)
