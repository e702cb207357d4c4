"""Stocks endpoints, through the Lambda handler and over HTTP."""

from __future__ import annotations


def test_track_list_and_read_bars(api, users):
    auth = users.signed_in()
    reply = api.request("POST", "/api/v1/stocks/", json_body={"symbol": "goog"}, headers=auth)
    assert reply.status_code == 201, reply.content
    assert reply.json()["symbol"] == "GOOG"
    assert float(reply.json()["current_price"]) == 806.19

    again = api.request("POST", "/api/v1/stocks/", json_body={"symbol": "GOOG"}, headers=auth)
    assert again.status_code == 200 and again.json() == reply.json()  # already tracked: nothing re-fetched

    listing = api.request("GET", "/api/v1/stocks/").json()
    assert [s["symbol"] for s in listing] == ["GOOG"]
    assert set(listing[0]) == {"symbol", "name", "exchange", "current_price", "price_time", "change_pct"}
    assert round(listing[0]["change_pct"], 2) == round((806.19 - 801.2) / 801.2 * 100, 2)

    bars = api.request("GET", "/api/v1/stocks/GOOG/prices/", params={"start": "2013-02-25", "end": "2013-03-01"})
    assert bars.status_code == 200
    assert [b["date"] for b in bars.json()] == ["2013-02-25", "2013-02-26", "2013-02-27", "2013-02-28", "2013-03-01"]


def test_tracking_needs_a_signed_in_user(api):
    assert api.request("POST", "/api/v1/stocks/", json_body={"symbol": "GOOG"}).status_code == 401


def test_unknown_symbol_is_404_and_invalid_is_400(api, users, db):
    auth = users.signed_in()
    unknown = api.request("POST", "/api/v1/stocks/", json_body={"symbol": "NOPE"}, headers=auth)
    assert (unknown.status_code, unknown.json()["detail"]) == (404, "Unknown symbol 'NOPE'.")
    bad = api.request("POST", "/api/v1/stocks/", json_body={"symbol": "no way!"}, headers=auth)
    assert bad.status_code == 400
    assert bad.json() == {"detail": "Invalid input.", "symbol": ["'no way!' is not a valid ticker symbol."]}
    assert db.run(lambda conn: conn.execute("SELECT count(*) AS n FROM stocks").fetchone()["n"]) == 0


def test_bars_of_untracked_symbol_is_404_and_bad_dates_400(api, users):
    missing = api.request("GET", "/api/v1/stocks/GOOG/prices/")
    assert (missing.status_code, missing.json()["detail"]) == (404, "'GOOG' is not tracked.")
    bad = api.request("GET", "/api/v1/stocks/GOOG/prices/", params={"start": "yesterday"})
    assert bad.status_code == 400
    assert list(bad.fields()) == ["start"]
