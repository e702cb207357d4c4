import pytest

from tickerwatch.settings import SettingsError, load_settings


def test_defaults_are_sane(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not a checkout
    settings = load_settings({})
    assert settings.access_token_ttl_seconds == 900
    assert settings.refresh_token_ttl_seconds == 7 * 24 * 3600
    assert settings.max_price_age_minutes == 120
    assert settings.market_data == "yfinance"
    assert settings.local_fetch_interval_seconds == 30 * 60


def test_a_checkout_beside_the_shared_prices_replays_them_but_lambda_never_does(tmp_path, monkeypatch):
    checkout, shared = tmp_path / "repo", tmp_path / "shared" / "data"
    (checkout / "functions").mkdir(parents=True)
    shared.mkdir(parents=True)
    monkeypatch.chdir(checkout)
    local = load_settings({})
    assert local.market_data == f"anytime:{shared.resolve()}"
    assert local.local_fetch_interval_seconds == 5  # the always-open replay takes a step every 5 s
    assert load_settings({"TICKERWATCH_MARKET_DATA": "replay:/x"}).local_fetch_interval_seconds == 60
    assert load_settings({"AWS_LAMBDA_FUNCTION_NAME": "fetch"}).market_data == "yfinance"
    assert load_settings({"TICKERWATCH_MARKET_DATA": "csv:/x"}).market_data == "csv:/x"
    assert load_settings({"TICKERWATCH_FETCH_INTERVAL_SECONDS": "5"}).local_fetch_interval_seconds == 5


def test_origins_are_split_on_commas():
    settings = load_settings({"CORS_ALLOWED_ORIGINS": "https://a.example, https://b.example"})
    assert settings.cors_allowed_origins == ["https://a.example", "https://b.example"]


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"ACCESS_TOKEN_TTL_SECONDS": "soon"}, "ACCESS_TOKEN_TTL_SECONDS"),
        ({"REFRESH_TOKEN_TTL_SECONDS": "-5"}, "REFRESH_TOKEN_TTL_SECONDS"),
        ({"TICKERWATCH_MARKET_DATA": "bloomberg"}, "TICKERWATCH_MARKET_DATA"),
        ({"TICKERWATCH_EMAIL_BACKEND": "pigeon"}, "TICKERWATCH_EMAIL_BACKEND"),
        ({"TICKERWATCH_EMAIL_BACKEND": "smtp"}, "TICKERWATCH_SMTP_URL"),
    ],
)
def test_bad_setting_fails_naming_it(env, named):
    with pytest.raises(SettingsError, match=named):
        load_settings(env)
