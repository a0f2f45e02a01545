"""The last line of defence: log what failed (never message text) and tell the user."""

import logging

from telegram import Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application, ContextTypes

from handlers.common import client_language, is_private, user_texts
from tgbot.i18n import texts
from tgbot.services import services

log = logging.getLogger(__name__)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure by type and update id, then apologise in private chats."""
    update_id = update.update_id if isinstance(update, Update) else None
    log.error(
        "unhandled %s while processing update %s",
        type(context.error).__name__,
        update_id,
        exc_info=context.error,
    )
    if not isinstance(update, Update) or not is_private(update):
        return
    if isinstance(context.error, Forbidden):
        return  # the user blocked the bot: an apology would fail the same way
    try:
        t = await user_texts(update.effective_user, context)
    except Exception:  # the failure may be the database itself: apologise all the same
        t = texts(client_language(update.effective_user, services(context).settings))
    try:
        await context.bot.send_message(update.effective_chat.id, t("error.generic"))
    except (TelegramError, OSError) as error:
        log.warning("could not send the error notice: %s", type(error).__name__)


def register(application: Application) -> None:
    application.add_error_handler(on_error)
