"""Shared fixtures: the real Application, polling a local fake Bot API over HTTP."""

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from telegram.ext import Application

from tests.fakes.bot_api import FakeBotAPI
from tgbot.app import build_application
from tgbot.logs import FLOORS, hold_chatty_loggers
from tgbot.services import Services
from tgbot.settings import Settings, load_settings
from tgbot.storage import Storage

TOKEN = "123456:TEST-token_abcdefghijklmnop"
EMERGENCY = "Test hotline: call 000 (fake)"
EMERGENCY_RU = "Тестовая горячая линия: 000"
ADMIN_ID = 900


@pytest.fixture
async def bot_api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token=TOKEN) as api:
        yield api
        assert api.violations == [], "the bot sent a request Telegram would refuse"


@pytest.fixture
def make_settings(bot_api: FakeBotAPI, tmp_path):
    def make(**overrides: object) -> Settings:
        values = {
            "bot_token": TOKEN,
            "telegram_api_url": bot_api.root_url,
            "database_path": tmp_path / "bot.sqlite3",
            "emergency_contact_text": EMERGENCY,
            "emergency_contact_text_ru": EMERGENCY_RU,
            "admin_ids": str(ADMIN_ID),
            "_env_file": None,
        }
        return load_settings(**(values | overrides))

    return make


@pytest.fixture
def production_logging(caplog):
    """Capture everything at DEBUG with the floors production puts on chatty loggers."""
    saved = {name: logging.getLogger(name).level for name in FLOORS}
    caplog.set_level(logging.DEBUG)
    hold_chatty_loggers("DEBUG")
    yield caplog
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


@dataclass
class RunningBot:
    api: FakeBotAPI
    application: Application
    services: Services

    @property
    def storage(self) -> Storage:
        return self.services.storage


@pytest.fixture
async def bot(bot_api: FakeBotAPI, make_settings) -> AsyncIterator[RunningBot]:
    """The bot as production runs it in polling mode, against the fake Bot API."""
    settings = make_settings()
    storage = await Storage.open(settings.database_path)
    services = Services(settings, storage)
    application = build_application(services, polling=True)
    async with application:
        await application.start()
        await application.updater.start_polling(poll_interval=0, timeout=1)
        yield RunningBot(bot_api, application, services)
        await application.updater.stop()
        await application.stop()
    await storage.close()


def pytest_terminal_summary(terminalreporter) -> None:
    """Report FAQ accuracy per language, as measured by tests/test_faq.py."""
    from tests.test_faq import ACCURACY

    if ACCURACY:
        figures = ", ".join(f"{lang} {share:.0%}" for lang, share in sorted(ACCURACY.items()))
        terminalreporter.write_line(f"FAQ accuracy on tests/faq_cases: {figures}")
