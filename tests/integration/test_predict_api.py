"""The predict endpoint and prediction history, through the Lambda handler and over HTTP."""

from __future__ import annotations

import base64
from datetime import date, timedelta

import pytest

PLOTS = ("plot_img", "plot_100_dma", "plot_200_dma", "plot_prediction")


def test_prediction_for_a_new_ticker_backfills_and_reports_honestly(api, users):
    auth = users.signed_in()
    reply = api.request("POST", "/api/v1/predict/", json_body={"ticker": "GOOG", "horizon": 3}, headers=auth)
    assert reply.status_code == 200, reply.content
    body = reply.json()
    assert body["status"] == "success" and body["cached"] is False
    for key in ("mse", "rmse", "r2", "mae", "mape", "directional_accuracy"):
        assert isinstance(body[key], float)
        assert key in body["baseline"]
    for key in PLOTS:
        assert body[key].startswith("data:image/png;base64,")
        assert base64.b64decode(body[key].split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p["date"] for p in body["forecast"]] == ["2013-03-04", "2013-03-05", "2013-03-06"]
    assert body["as_of"] == "2013-03-01"
    assert body["test_window"]["start"] > body["model"]["trained_on"]["GOOG"]["train_end"]
    assert set(body["model"]) == {"name", "version", "window", "trained_on"}
    assert len(body["series"]["close"]) == len(body["series"]["dates"]) == 2148


def stored_results(db) -> list[tuple]:
    """Each cached result with the transaction that last wrote it: a computed forecast always
    writes its row (insert, or upsert when another request stored it first)."""
    return db.run(
        lambda conn: [
            (r["id"], r["xmin"])
            for r in conn.execute("SELECT id, xmin::text AS xmin FROM prediction_results ORDER BY id").fetchall()
        ]
    )


def test_repeat_request_is_served_from_cache(api, users, db, monkeypatch):
    auth = users.signed_in()
    first = api.request("POST", "/api/v1/predict/", json_body={"ticker": "GOOG", "plots": False}, headers=auth).json()
    stored = stored_results(db)
    assert len(stored) == 1
    if api.kind == "lambda":  # in process we can also prove no inference and no plotting happens
        import tickerwatch.predict as predict_module

        def forbidden(*args, **kwargs):
            raise AssertionError("inference or plotting on a cached request")

        monkeypatch.setattr(predict_module, "build_forecast", forbidden)
    second = api.request("POST", "/api/v1/predict/", json_body={"ticker": "goog", "plots": False}, headers=auth)
    assert second.status_code == 200
    assert second.json()["cached"] is True
    # Over HTTP too: the stored result was read, not recomputed and written again.
    assert stored_results(db) == stored
    assert {k: v for k, v in second.json().items() if k not in ("id", "requested_at", "cached")} == {
        k: v for k, v in first.items() if k not in ("id", "requested_at", "cached")
    }
    assert second.json()["id"] != first["id"]  # each request is its own history entry
    assert second.json()["plot_img"] is None  # plots were not asked for


def test_unknown_ticker_is_404(api, users):
    auth = users.signed_in()
    reply = api.request("POST", "/api/v1/predict/", json_body={"ticker": "NOPE"}, headers=auth)
    assert reply.status_code == 404
    assert "NOPE" in reply.json()["detail"]


def test_too_little_history_is_422_saying_how_much(api, users, db):
    auth = users.signed_in()

    def seed(conn):
        conn.execute("INSERT INTO stocks (symbol) VALUES ('TINY')")
        start = date(2024, 1, 1)
        for i in range(40):
            conn.execute("INSERT INTO price_bars VALUES ('TINY', %s, 1, 1, 1, 1, 1, 1)", (start + timedelta(days=i),))

    db.run(seed)
    reply = api.request("POST", "/api/v1/predict/", json_body={"ticker": "TINY"}, headers=auth)
    assert reply.status_code == 422
    assert "needs at least" in reply.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"ticker": "GOOG", "horizon": 0},
        {"ticker": "GOOG", "horizon": 31},
        {},
        {"ticker": "GOOG", "horizon": "soon"},
        {"ticker": "GOOG", "extra": 1},
    ],
)
def test_bad_predict_body_is_400(api, users, body):
    reply = api.request("POST", "/api/v1/predict/", json_body=body, headers=users.signed_in())
    assert reply.status_code == 400
    assert reply.fields()


def test_predict_requires_auth(api):
    assert api.request("POST", "/api/v1/predict/", json_body={"ticker": "GOOG"}).status_code == 401


def test_history_is_own_newest_first_and_paginated(api, users):
    alice = users.signed_in("alice")
    for horizon in (1, 2, 3):
        api.request(
            "POST", "/api/v1/predict/", json_body={"ticker": "GOOG", "horizon": horizon, "plots": False}, headers=alice
        )
    page = api.request("GET", "/api/v1/predictions/", params={"limit": 2}, headers=alice).json()
    assert page["count"] == 3
    assert [p["horizon"] for p in page["results"]] == [3, 2]
    assert "series" not in page["results"][0]
    # the summary names its band coverage as the detail does (field aliases), not by attribute names
    assert set(page["results"][0]["interval_coverage"]) == {"80", "95", "evaluated_points"}
    rest = api.request("GET", "/api/v1/predictions/", params={"limit": 2, "offset": 2}, headers=alice).json()
    assert [p["horizon"] for p in rest["results"]] == [1]

    one = page["results"][0]["id"]
    detail = api.request("GET", f"/api/v1/predictions/{one}/", headers=alice)
    assert detail.status_code == 200 and detail.json()["horizon"] == 3

    bob = users.signed_in("bob")
    assert api.request("GET", f"/api/v1/predictions/{one}/", headers=bob).status_code == 404
    assert api.request("GET", "/api/v1/predictions/", headers=bob).json()["count"] == 0
    assert api.request("GET", "/api/v1/predictions/", params={"limit": 0}, headers=alice).status_code == 400


def test_a_change_of_forecasting_method_is_not_served_from_cache(db, monkeypatch):
    import tickerwatch.predict as predict_module
    from tickerwatch.runtime import get_backfill, get_forecasters

    def ask():
        return predict_module.predict(db, get_forecasters(), get_backfill(), ticker="GOOG", horizon=2, plots=False)

    assert ask()["cached"] is False
    assert ask()["cached"] is True
    monkeypatch.setattr(predict_module, "METHOD_VERSION", "next")
    assert ask()["cached"] is False
