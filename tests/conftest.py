"""Shared fixtures: the real Application, polling a local fake Bot API over HTTP."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from telegram.ext import Application

from playground.button_width import labels, overflows
from playground.stripe import FakeStripe
from playground.telegram import FakeBotAPI
from tgbot.runtime.app import build_application
from tgbot.runtime.logs import FLOORS, hold_chatty_loggers
from tgbot.runtime.runner import open_services
from tgbot.services import Services
from tgbot.settings import Settings, load_settings
from tgbot.storage import Storage

TOKEN = "123456:TEST-token_abcdefghijklmnop"
EMERGENCY = "Test hotline: +1 555 0100, help@example.org"
EMERGENCY_RU = "Тестовая горячая линия: +1 555 0101"
ADMIN_ID = 900
STRIPE_KEY = "sk_test_fake_key_4242"
STRIPE_WEBHOOK_SECRET = "whsec_test_secret"


@pytest.fixture(autouse=True)
def fail_on_logged_errors(caplog, request):
    """An ERROR in the log means an exception escaped somewhere; fail unless it is expected."""
    yield
    if request.node.get_closest_marker("logs_errors"):
        return
    records = caplog.get_records("setup") + caplog.get_records("call")
    records += caplog.get_records("teardown")
    errors = [f"{r.name}: {r.getMessage()}" for r in records if r.levelno >= logging.ERROR]
    assert errors == [], "unexpected ERROR log records"


@pytest.fixture
async def bot_api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token=TOKEN) as api:
        yield api
        assert api.violations == [], "the bot sent a request Telegram would refuse"
        assert overflowing_buttons(api) == [], "a button label would wrap on a phone"


def overflowing_buttons(api: FakeBotAPI) -> list[str]:
    """Every label of every inline keyboard the bot sent that a phone could not fit."""
    found = []
    for call in api.calls:
        markups = [call.params.get("reply_markup")]
        if call.method == "answerInlineQuery":
            markups += [result.get("reply_markup") for result in call.params.get("results", [])]
        for markup in markups:
            found += [str(overflow) for overflow in overflows(labels(markup))]
    return found


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


async def fetched(api: FakeBotAPI, seconds: float = 5.0) -> None:
    """Let the bot fetch what a test sent last, as a real shutdown would find it fetched.

    Stopping while an update is still queued at Telegram is legal (it comes again after a
    restart) but logs at CRITICAL, which would fail the test for a reason it did not test.
    """
    deadline = asyncio.get_running_loop().time() + seconds
    while api.pending_updates and asyncio.get_running_loop().time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.01)


@asynccontextmanager
async def running_bot(api: FakeBotAPI, settings: Settings) -> AsyncIterator[RunningBot]:
    """The bot as production runs it in polling mode, against the fake Bot API."""
    async with open_services(settings) as services:
        application = build_application(services, polling=True)
        async with application:
            await application.start()
            await application.updater.start_polling(poll_interval=0, timeout=1)
            services.broadcaster.start(application.bot)
            try:
                yield RunningBot(api, application, services)
                await fetched(api)
            finally:
                await services.broadcaster.stop()
                await application.updater.stop()
                await application.stop()


@pytest.fixture
async def bot(bot_api: FakeBotAPI, make_settings) -> AsyncIterator[RunningBot]:
    async with running_bot(bot_api, make_settings()) as running:
        yield running


@pytest.fixture
async def stripe_fake() -> AsyncIterator[FakeStripe]:
    async with FakeStripe(api_key=STRIPE_KEY, webhook_secret=STRIPE_WEBHOOK_SECRET) as fake:
        yield fake
        assert fake.violations == [], fake.describe_violations()


@pytest.fixture
def stripe_settings(stripe_fake: FakeStripe) -> dict[str, str]:
    return {
        "stripe_secret_key": STRIPE_KEY,
        "stripe_webhook_secret": STRIPE_WEBHOOK_SECRET,
        "stripe_api_base": stripe_fake.base_url,
        "goal_amount": "1000",
        "goal_currency": "eur",
    }


def pytest_terminal_summary(terminalreporter) -> None:
    """Report FAQ accuracy and the danger check's figures per language."""
    from tests.test_faq import ACCURACY, HELD_OUT_ACCURACY
    from tests.test_safety_cases import report_lines

    for line in report_lines():
        terminalreporter.write_line(line)
    for name, figures in (("tuned", ACCURACY), *HELD_OUT_ACCURACY.items()):
        if figures:
            shares = ", ".join(f"{lang} {share:.1%}" for lang, share in sorted(figures.items()))
            terminalreporter.write_line(f"FAQ accuracy on tests/faq_cases ({name}): {shares}")
