"""What the browser tests and their fixtures share."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ACCESS_TOKEN_TTL_SECONDS = 6


def e2e_server(web_build: Path, e2e_database: str, market: str, **env: str):
    """The local stack as the browser tests meet it, on ``market``, with ``env`` on top (started)."""
    from apigw import LocalServer  # tests/integration: conftest.py puts it on the path

    return LocalServer(
        env={
            "DATABASE_URL": e2e_database,
            "TICKERWATCH_WEB_DIR": str(web_build),
            "TICKERWATCH_MARKET_DATA": market,
            "TICKERWATCH_FETCH_INTERVAL_SECONDS": "1",
            "ACCESS_TOKEN_TTL_SECONDS": str(ACCESS_TOKEN_TTL_SECONDS),
            # A reused refresh token revokes its family at once: a client that kept the first
            # refresh token is signed out at its second refresh, which the tests would see.
            "REFRESH_TOKEN_REUSE_GRACE_SECONDS": "0",
            # Many sign-ups and logins from one address in a minute are this suite, not an attack.
            "RATE_LIMIT_REGISTER_PER_ADDRESS": "0",
            "RATE_LIMIT_LOGIN_PER_ADDRESS": "0",
            **env,
        }
    ).wait_ready()
