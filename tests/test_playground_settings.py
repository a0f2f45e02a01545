"""The playground's settings come from nowhere but the playground itself."""

from pathlib import Path

import pytest

from playground.run import DATABASE, TOKEN, playground_settings
from playground.stripe import FakeStripe
from playground.telegram import FakeBotAPI


@pytest.fixture
def production(monkeypatch, tmp_path):
    """The environment and `.env` of a production deployment, in the working directory."""
    production = {
        "BOT_TOKEN": "123:real-token",
        "MODE": "webhook",
        "WEBHOOK_URL": "https://bot.example/telegram/webhook",
        "WEBHOOK_SECRET": "production-secret_0123456789abcdefgh",
        "DATABASE_PATH": str(tmp_path / "production.sqlite3"),
        "STRIPE_SECRET_KEY": "sk_live_real",
        "STRIPE_API_BASE": "https://api.stripe.com",
    }
    for name, value in production.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    Path(".env").write_text("ADMIN_IDS=1\n")


async def test_a_production_environment_never_leaks_into_the_playground(production):
    async with FakeBotAPI(token=TOKEN) as telegram, FakeStripe(api_key="sk_test_x") as stripe:
        settings = playground_settings(telegram, stripe, port=8000)
    assert settings.bot_token.get_secret_value() == TOKEN
    assert (settings.mode, settings.database_path) == ("polling", DATABASE)
    assert settings.telegram_api_url == telegram.root_url
    assert settings.stripe_api_base == stripe.base_url
    assert settings.stripe_secret_key.get_secret_value().startswith("sk_test_")
    assert 1 not in settings.admin_ids
