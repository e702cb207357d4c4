from __future__ import annotations

import os

import pytest
from apigw import HttpApi, LambdaApi, LocalServer


@pytest.fixture(scope="session")
def lambda_api() -> LambdaApi:
    return LambdaApi()


@pytest.fixture(scope="session")
def local_server():
    server = LocalServer("--no-jobs").wait_ready()
    yield server
    server.stop()


@pytest.fixture(params=["lambda", "http"])
def api(request, db):
    """Every endpoint test runs twice: through the Lambda handlers and over HTTP."""
    if request.param == "lambda":
        return request.getfixturevalue("lambda_api")
    return HttpApi(request.getfixturevalue("local_server").url)


class Users:
    def __init__(self, api):
        self.api = api

    def register(self, username="alice", email=None, password="correct-horse-9"):
        reply = self.api.request(
            "POST",
            "/api/v1/register/",
            json_body={
                "username": username,
                "email": email or f"{username}@example.com",
                "password": password,
            },
        )
        assert reply.status_code == 201, reply.content
        return reply.json()

    def tokens(self, username="alice", password="correct-horse-9"):
        reply = self.api.request("POST", "/api/v1/token/", json_body={"username": username, "password": password})
        assert reply.status_code == 200, reply.content
        return reply.json()

    def signed_in(self, username="alice") -> dict[str, str]:
        """Registers the user and returns the Authorization header for them."""
        self.register(username)
        return {"Authorization": f"Bearer {self.tokens(username)['access']}"}


@pytest.fixture
def users(api) -> Users:
    return Users(api)


@pytest.fixture
def settings_env(monkeypatch):
    """Run the Lambda handlers under other settings (as a function deployed with them would)."""
    from tickerwatch.settings import get_settings

    def apply(**env: str) -> None:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()

    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def clock(db, database_url):
    """A settable database clock for the API, the jobs and ``clock.db`` (tests/integration/clock.py)."""
    from clock import Clock, clocked_url

    from tickerwatch.runtime import get_database
    from tickerwatch.settings import get_settings

    frozen = Clock(database_url)
    os.environ["DATABASE_URL"] = clocked_url(database_url)
    get_settings.cache_clear()
    get_database.cache_clear()
    frozen.db = get_database()
    yield frozen
    os.environ["DATABASE_URL"] = database_url
    get_settings.cache_clear()
    get_database.cache_clear()
    frozen.db.close_all()
    frozen.release()
