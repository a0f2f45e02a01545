"""Running the bot: one event loop for python-telegram-bot, uvicorn and the database.

Follows python-telegram-bot's custom-webhook example: `async with application`, start it, serve
HTTP until a signal arrives, then stop the update source first and the application after it,
so every update already fetched (and so acknowledged to Telegram) is handled before exit.
"""

import asyncio
import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from telegram import Update

from handlers.profile import publish_profile
from tgbot.app import GET_UPDATES_TIMEOUT, build_application
from tgbot.services import Services
from tgbot.settings import Settings
from tgbot.storage import Storage
from tgbot.web import create_web_app

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """Uvicorn without its own signal handling: it would re-raise the signal after serving
    and kill the process before the bot has stopped. `run()` handles signals instead."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _stop_on_signals(server: uvicorn.Server) -> None:
    loop = asyncio.get_running_loop()

    def stop(signum: int) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        server.should_exit = True

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop, signum)


async def run(settings: Settings) -> None:
    """Run until SIGINT or SIGTERM."""
    storage = await Storage.open(settings.database_path)
    try:
        await _run_with(settings, storage)
    finally:
        await storage.close()


async def _run_with(settings: Settings, storage: Storage) -> None:
    polling = settings.mode == "polling"
    application = build_application(Services(settings, storage), polling=polling)
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    web_app = create_web_app(application, storage, telegram_secret=None if polling else secret)
    server = _Server(
        uvicorn.Config(
            web_app,
            host=settings.host,
            port=settings.port,
            log_config=None,
            access_log=False,
            lifespan="off",
        )
    )
    _stop_on_signals(server)
    async with application:
        await application.start()
        await publish_profile(application.bot, settings.default_language)
        if polling:
            await application.updater.start_polling(
                timeout=GET_UPDATES_TIMEOUT, allowed_updates=Update.ALL_TYPES
            )
        else:
            await application.bot.set_webhook(
                url=settings.webhook_url, secret_token=secret, allowed_updates=Update.ALL_TYPES
            )
        log.info("appeal-bot is running (%s mode) as @%s", settings.mode, application.bot.username)
        await server.serve()
        if polling:
            await application.updater.stop()
        await application.stop()
    log.info("appeal-bot stopped")
