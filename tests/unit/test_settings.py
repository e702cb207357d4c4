import pytest

from tickerwatch.settings import SettingsError, load_settings


def test_defaults_are_sane():
    settings = load_settings({})
    assert settings.access_token_ttl_seconds == 900
    assert settings.refresh_token_ttl_seconds == 7 * 24 * 3600
    assert settings.max_price_age_minutes == 120
    assert settings.market_data == "yfinance"


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
