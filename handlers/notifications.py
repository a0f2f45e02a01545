"""The conversation layer's side of `tgbot.notifier`: what people are told, and how."""

from telegram import Bot

from handlers.admin import report_unreadable_events
from handlers.donations import after_payments
from handlers.profile import publish_profile
from tgbot.services import Services


class ChatNotifier:
    """Sends the bot's own messages through `bot` (a `tgbot.notifier.Notifier`)."""

    def __init__(self, bot: Bot, services: Services) -> None:
        self.bot = bot
        self.services = services

    async def bot_started(self) -> None:
        settings = self.services.settings
        await publish_profile(self.bot, settings.default_language, settings.admin_ids)

    async def payments_applied(self) -> None:
        await after_payments(self.bot, self.services)

    async def events_unreadable(self, events: list[tuple[str, str]]) -> None:
        await report_unreadable_events(self.bot, self.services, events)
