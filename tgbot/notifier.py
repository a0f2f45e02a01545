"""What the bot tells people about things that happen outside a chat.

A payment Stripe reports, an event that cannot be read, the bot starting: the runtime (web
app, reconciliation, start-up) learns of them, but the words and the Telegram calls belong to
the conversation layer. The runtime calls a `Notifier`; `handlers.notifications` implements
it, and the application builder (`tgbot.runtime.app`) attaches it, so events flow one way,
web → payments → notifier → Telegram, and nothing else in `tgbot` imports `handlers`.
"""

from typing import Protocol


class Notifier(Protocol):
    async def bot_started(self) -> None:
        """Publish the bot's profile: command menus and descriptions."""

    async def payments_applied(self) -> None:
        """Thank new donors and announce a milestone the total passed."""

    async def events_unreadable(self, events: list[tuple[str, str]]) -> None:
        """Tell the admins of Stripe events (id, type) that could not be read after every try."""
