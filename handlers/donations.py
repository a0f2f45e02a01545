"""/donate and /progress.

Online payments are not configured in this version of the bot, so both explain that honestly
instead of showing a payment link or a total that does not exist.
"""

from telegram.ext import Application, CommandHandler

from handlers.common import PRIVATE, replies_with

donate = replies_with("donate.unavailable")
progress = replies_with("progress.unavailable")


def register(application: Application) -> None:
    application.add_handler(CommandHandler("donate", donate, filters=PRIVATE))
    application.add_handler(CommandHandler("progress", progress, filters=PRIVATE))
