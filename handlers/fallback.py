"""Everything no feature handled: registered last, so it only sees what is left over."""

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from handlers.common import GROUPS, PRIVATE, replies_with, user_texts
from handlers.share import bot_link

# Commands this bot answers; in a group it only points people to a private chat.
COMMANDS = (
    "start",
    "help",
    "about",
    "donate",
    "progress",
    "subscribe",
    "unsubscribe",
    "discreet",
    "share",
    "language",
    "privacy",
    "forget",
    "erase",
    "myid",
)


unknown_command = replies_with("error.unknown_command")


async def group_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In a group, one of this bot's commands gets a button to a private chat, nothing more."""
    t = await user_texts(update.effective_user, context)
    button = InlineKeyboardButton(t("group.open_button"), url=bot_link(context))
    await update.effective_message.reply_text(
        t("group.private_only"), reply_markup=InlineKeyboardMarkup([[button]])
    )


async def stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button from an old message or forged callback data."""
    t = await user_texts(update.effective_user, context)
    await update.callback_query.answer(t("error.stale_button"))


async def button_without_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every feature replies next to the button's message; without one the tap is stale.

    Telegram omits the message for buttons under inline-mode messages and for messages too
    old to be accessible. Runs before the features and stops them.
    """
    query = update.callback_query
    if query is not None and (query.message is None or not query.message.is_accessible):
        await stale_button(update, context)
        raise ApplicationHandlerStop


def register(application: Application) -> None:
    application.add_handler(TypeHandler(Update, button_without_message), group=-1)
    application.add_handler(CommandHandler(COMMANDS, group_command, filters=GROUPS))
    application.add_handler(MessageHandler(PRIVATE & filters.COMMAND, unknown_command))
    application.add_handler(CallbackQueryHandler(stale_button))
