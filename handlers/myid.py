"""/myid: a person's own Telegram ID, so that an operator can put theirs in ADMIN_IDS.

Nothing is stored: the ID comes from the update and goes straight back into the same chat.
"""

from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes

from handlers.common import PRIVATE, user_texts


async def my_id(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """One line with the sender's ID, in <code> so that a tap copies it."""
    user = update.effective_user
    t = await user_texts(user, context)
    # a string, not an int: the catalog would format a number with thousands separators
    await update.effective_message.reply_text(t("myid.text", id=str(user.id)))


def register(application: Application) -> None:
    application.add_handler(CommandHandler("myid", my_id, filters=PRIVATE))
