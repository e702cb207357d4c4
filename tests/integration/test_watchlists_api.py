"""Watchlists through the Lambda handler and over HTTP: CRUD, tracking on the way, ownership,
validation, and conditional GETs (ETag / 304) for clients that poll."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from market import quote

LISTS = "/api/v1/watchlists/"


def create(api, auth, name="EV makers", symbols=("tsla", "GOOG")):
    return api.request("POST", LISTS, json_body={"name": name, "symbols": list(symbols)}, headers=auth)


def test_create_tracks_symbols_and_lists_them_with_prices(api, users, db):
    auth = users.signed_in()
    reply = create(api, auth, symbols=["tsla", "GOOG", "TSLA"])
    assert reply.status_code == 201, reply.content
    body = reply.json()
    assert body["name"] == "EV makers"
    assert [s["symbol"] for s in body["symbols"]] == ["TSLA", "GOOG"]  # given order, each once
    goog = body["symbols"][1]
    assert float(goog["current_price"]) == 806.19 and goog["price_time"]
    assert round(float(goog["change_pct"]), 2) == round((806.19 - 801.2) / 801.2 * 100, 2)
    tracked = api.request("GET", "/api/v1/stocks/").json()
    assert [s["symbol"] for s in tracked] == ["GOOG", "TSLA"]  # tracked on the way, as POST /stocks/ does

    listing = api.request("GET", LISTS, headers=auth)
    assert listing.status_code == 200
    assert listing.json()["count"] == 1 and listing.json()["results"] == [body]
    detail = api.request("GET", f"{LISTS}{body['id']}/", headers=auth)
    assert detail.status_code == 200 and detail.json() == body


def test_conditional_get_answers_304_until_the_list_or_a_price_changes(api, users, db):
    auth = users.signed_in()
    created = create(api, auth, symbols=["GOOG"]).json()
    url = f"{LISTS}{created['id']}/"
    for path in (url, LISTS):
        first = api.request("GET", path, headers=auth)
        etag = first.headers["etag"]
        assert first.headers["cache-control"] == "private, no-cache"
        again = api.request("GET", path, headers=auth | {"If-None-Match": etag})
        assert (again.status_code, again.content) == (304, b"")
        assert again.headers["etag"] == etag
        weak = api.request("GET", path, headers=auth | {"If-None-Match": f'"other", W/{etag}'})
        assert weak.status_code == 304
        assert api.request("GET", path, headers=auth | {"If-None-Match": '"other"'}).status_code == 200

    etag = api.request("GET", url, headers=auth).headers["etag"]
    quote(db, "GOOG", 810.5, datetime.now(UTC) - timedelta(minutes=1))
    moved = api.request("GET", url, headers=auth | {"If-None-Match": etag})
    assert moved.status_code == 200 and float(moved.json()["symbols"][0]["current_price"]) == 810.5

    etag = moved.headers["etag"]
    renamed = api.request("PATCH", url, json_body={"name": "Search"}, headers=auth)
    assert renamed.status_code == 200 and renamed.json()["name"] == "Search"
    after = api.request("GET", url, headers=auth | {"If-None-Match": etag})
    assert after.status_code == 200 and after.headers["etag"] != etag


def test_patch_replaces_symbols_and_keeps_what_is_not_sent(api, users):
    auth = users.signed_in()
    created = create(api, auth, symbols=["GOOG"]).json()
    url = f"{LISTS}{created['id']}/"
    reply = api.request("PATCH", url, json_body={"symbols": ["tsla", "goog"]}, headers=auth)
    assert reply.status_code == 200, reply.content
    assert reply.json()["name"] == "EV makers"
    assert [s["symbol"] for s in reply.json()["symbols"]] == ["TSLA", "GOOG"]
    emptied = api.request("PATCH", url, json_body={"symbols": []}, headers=auth)
    assert emptied.json()["symbols"] == []
    nulls = api.request("PATCH", url, json_body={"name": None, "symbols": None}, headers=auth)
    assert nulls.status_code == 400
    assert nulls.fields() == {"name": ["This field may not be null."], "symbols": ["This field may not be null."]}


def test_another_users_list_is_404_everywhere(api, users):
    mine = users.signed_in("alice")
    created = create(api, mine, symbols=["GOOG"]).json()
    theirs = users.signed_in("mallory")
    url = f"{LISTS}{created['id']}/"
    assert api.request("GET", url, headers=theirs).status_code == 404
    assert api.request("PATCH", url, json_body={"name": "mine now"}, headers=theirs).status_code == 404
    assert api.request("DELETE", url, headers=theirs).status_code == 404
    assert api.request("GET", LISTS, headers=theirs).json()["count"] == 0
    assert api.request("GET", url, headers=mine).json()["name"] == "EV makers"


def test_delete_then_404(api, users):
    auth = users.signed_in()
    url = f"{LISTS}{create(api, auth, symbols=[]).json()['id']}/"
    assert api.request("DELETE", url, headers=auth).status_code == 204
    assert api.request("GET", url, headers=auth).status_code == 404
    assert api.request("DELETE", url, headers=auth).status_code == 404


def test_invalid_input_names_the_field_and_changes_nothing(api, users, db):
    auth = users.signed_in()
    blank = create(api, auth, name="   ")
    assert (blank.status_code, blank.fields()) == (400, {"name": ["This field may not be blank."]})
    bad = create(api, auth, symbols=["GOOG", "no way!"])
    assert (bad.status_code, bad.fields()) == (400, {"symbols": ["1: 'no way!' is not a valid ticker symbol."]})
    too_many = create(api, auth, symbols=[f"S{i}" for i in range(101)])
    assert too_many.status_code == 400 and list(too_many.fields()) == ["symbols"]
    unknown = create(api, auth, symbols=["GOOG", "NOPE"])
    assert (unknown.status_code, unknown.fields()) == (400, {"symbols": ["Unknown symbol 'NOPE'."]})
    assert api.request("GET", LISTS, headers=auth).json()["count"] == 0

    assert create(api, auth, name="Tech", symbols=[]).status_code == 201
    duplicate = create(api, auth, name="  tech ", symbols=[])
    assert duplicate.status_code == 409
    assert duplicate.fields() == {"name": ["You already have a watchlist with that name."]}
    other = create(api, auth, name="Other", symbols=[]).json()
    clash = api.request("PATCH", f"{LISTS}{other['id']}/", json_body={"name": "TECH"}, headers=auth)
    assert clash.status_code == 409


def test_watchlists_need_a_signed_in_user(api):
    assert api.request("GET", LISTS).status_code == 401
    assert api.request("POST", LISTS, json_body={"name": "x", "symbols": []}).status_code == 401
