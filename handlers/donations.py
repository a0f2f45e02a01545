"""/donate and /progress.

Online payments are not configured in this version of the bot, so both explain that honestly
instead of showing a payment link or a total that does not exist.
"""

from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes

from handlers.common import PRIVATE, user_texts


async def donate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """How to give to the appeal."""
    t = await user_texts(update.effective_user, context)
    await update.effective_message.reply_text(t("donate.unavailable"))


async def progress(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """How far the appeal is towards its goal."""
    t = await user_texts(update.effective_user, context)
    await update.effective_message.reply_text(t("progress.unavailable"))


def register(application: Application) -> None:
    application.add_handler(CommandHandler("donate", donate, filters=PRIVATE))
    application.add_handler(CommandHandler("progress", progress, filters=PRIVATE))
