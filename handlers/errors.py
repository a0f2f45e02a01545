"""The last line of defence: log what failed (never message text) and tell the user.

The apology carries the emergency line: the failure may have hit a call for help's answer.
"""

import logging

from telegram import Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application, ContextTypes

from handlers.common import is_private, remembered_texts
from handlers.safety import emergency_line

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
    t = remembered_texts(update.effective_user, context)  # the failure may be the database
    text = f"{t('error.generic')}\n\n{emergency_line(t, context)}"
    try:
        await context.bot.send_message(update.effective_chat.id, text)
    except (TelegramError, OSError) as error:
        log.warning("could not send the error notice: %s", type(error).__name__)


def register(application: Application) -> None:
    application.add_error_handler(on_error)
