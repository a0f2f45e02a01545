"""Start-up refuses settings that would send a secret unprotected.

A webhook secret is the only proof that a call to /telegram/webhook comes from Telegram, so it
must be long. The bot token travels in every Bot API URL and the Stripe key in every Stripe
request: plain http:// is allowed only on this machine, or, for the Bot API, to an operator's
own server on a private network when they say so explicitly.
"""

import pytest

from tests.conftest import EMERGENCY, TOKEN
from tgbot.settings import SettingsError, load_settings

LONG_SECRET = "webhook-secret_0123456789abcdefghij"


def settings(**overrides: str):
    values = {"bot_token": TOKEN, "emergency_contact_text": EMERGENCY, "_env_file": None}
    return load_settings(**(values | overrides))


def webhook(secret: str):
    return settings(mode="webhook", webhook_url="https://bot.example/hook", webhook_secret=secret)


def test_a_short_webhook_secret_is_refused_with_a_way_to_make_one():
    with pytest.raises(SettingsError, match="WEBHOOK_SECRET") as refused:
        webhook("a" * 31)
    assert "secrets.token_urlsafe(32)" in str(refused.value)
    assert "a" * 31 not in str(refused.value)
    assert webhook(LONG_SECRET).webhook_secret.get_secret_value() == LONG_SECRET


@pytest.mark.parametrize(
    "url",
    [
        "https://api.telegram.org",
        "http://127.0.0.1:8081",
        "http://localhost:8081",
        "http://[::1]:8081",
    ],
)
def test_the_bot_api_is_reached_encrypted_or_on_this_machine(url):
    assert settings(telegram_api_url=url).telegram_api_url == url


@pytest.mark.parametrize("url", ["http://10.0.0.5:8081", "http://botapi.internal:8081"])
def test_plain_http_to_another_machine_needs_an_explicit_yes(url):
    with pytest.raises(SettingsError, match="TELEGRAM_API_URL"):
        settings(telegram_api_url=url)
    allowed = settings(telegram_api_url=url, telegram_api_allow_http="true")
    assert allowed.bot_api_base_url == f"{url}/bot"


@pytest.mark.parametrize("url", ["http://10.0.0.5", "http://stripe.example"])
def test_stripe_is_never_reached_over_plain_http_off_this_machine(url):
    with pytest.raises(SettingsError, match="STRIPE_API_BASE"):
        settings(stripe_api_base=url, telegram_api_allow_http="true")
    assert settings(stripe_api_base="http://127.0.0.1:12111").stripe_api_base
