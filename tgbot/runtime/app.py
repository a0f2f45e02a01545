"""Building the python-telegram-bot Application with every handler registered.

The one module of `tgbot` that imports `handlers`: it registers them and attaches their
`Notifier`, which the runtime calls without knowing the conversation layer.
"""

from telegram import LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, Defaults

import handlers
from handlers.notifications import ChatNotifier
from tgbot.broadcasts.limiter import OutboundLimiter
from tgbot.runtime.ordering import PerUserOrder
from tgbot.runtime.transport import AiohttpRequest
from tgbot.services import Services

GET_UPDATES_TIMEOUT = 30
"""Seconds a long poll waits for updates; the HTTP read timeout is set above it."""


def build_application(services: Services, *, polling: bool) -> Application:
    """The bot, talking to `TELEGRAM_API_URL`; without an updater when updates come by webhook."""
    settings = services.settings
    builder = (
        ApplicationBuilder()
        .token(settings.bot_token.get_secret_value())
        .base_url(settings.bot_api_base_url)
        .base_file_url(settings.bot_api_file_url)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .request(AiohttpRequest())
        # A second connection lets the final getUpdates that confirms handled updates run
        # while the cancelled long poll still holds the first; with one, stopping times out
        # and Telegram sends the last updates again after a restart.
        .get_updates_request(
            AiohttpRequest(connection_pool_size=2, read_timeout=GET_UPDATES_TIMEOUT + 10)
        )
        .concurrent_updates(PerUserOrder())
        .rate_limiter(
            OutboundLimiter(
                settings.send_rate,
                on_sent=services.recent.record_sent,
                on_answer=services.health.telegram_answered,
            )
        )
    )
    if not polling:
        builder = builder.updater(None)
    application = builder.build()
    services.attach(application.bot_data)
    services.notifier = ChatNotifier(application.bot, services)
    handlers.register(application)
    return application
