"""The bot's public profile: command menus and descriptions in every language.

Published at start-up. Telegram shows each user the variant for their client's language and
falls back to the one without a language code, which is set in the default language.
"""

import logging
from collections.abc import Iterable

from telegram import Bot, BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat
from telegram.error import TelegramError

from handlers import admin, news
from handlers.fallback import COMMANDS
from tgbot.settings import LANGUAGES
from tgbot.text.i18n import Texts, texts

log = logging.getLogger(__name__)


async def publish_profile(bot: Bot, default_language: str, admin_ids: Iterable[int]) -> bool:
    """Set commands and descriptions per language; returns False if any call failed.

    Admins also see the admin commands, in their own chats only. A failure is logged as a
    warning and not raised: an outdated menu must not stop the bot.
    """
    ok = await _publish_admin_commands(bot, texts(default_language), admin_ids)
    for language in (*LANGUAGES, None):
        t = texts(language or default_language)
        try:
            await bot.set_my_commands(
                [BotCommand(command, t(f"commands.{command}")) for command in COMMANDS],
                scope=BotCommandScopeAllPrivateChats(),
                language_code=language,
            )
            await bot.set_my_description(t("bot.description"), language_code=language)
            await bot.set_my_short_description(t("bot.short_description"), language_code=language)
        except (TelegramError, OSError) as error:
            log.warning(
                "could not publish the bot profile for language %s: %s",
                language or "(default)",
                type(error).__name__,
            )
            ok = False
    return ok


async def _publish_admin_commands(bot: Bot, t: Texts, admin_ids: Iterable[int]) -> bool:
    admin_commands = (*COMMANDS, *admin.ADMIN_COMMANDS, *news.ADMIN_COMMANDS)
    commands = [BotCommand(c, t(f"commands.{c}")) for c in admin_commands]
    ok = True
    for admin_id in admin_ids:
        try:
            await bot.set_my_commands(commands, scope=BotCommandScopeChat(admin_id))
        except (TelegramError, OSError) as error:  # e.g. the admin has not started the bot
            log.warning("could not publish the admin commands: %s", type(error).__name__)
            ok = False
    return ok
