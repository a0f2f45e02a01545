"""/privacy says what is kept; /forget deletes it after a confirmation."""

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from handlers.common import PRIVATE, callback, user_texts
from tgbot.services import services


async def privacy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """What is kept, and for how long backups keep it when the operator makes them."""
    t = await user_texts(update.effective_user, context)
    text = t("privacy.text")
    if days := services(context).settings.backup_retention_days:
        text = f"{text}\n\n{t('privacy.backups', count=days)}"
    await update.effective_message.reply_text(text)


async def forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Ask before deleting: the confirmation is one tap away."""
    t = await user_texts(update.effective_user, context)
    yes = InlineKeyboardButton(t("forget.confirm_button"), callback_data=callback("forget", "yes"))
    no = InlineKeyboardButton(t("forget.cancel_button"), callback_data=callback("forget", "no"))
    buttons = InlineKeyboardMarkup([[yes], [no]])
    text = t("forget.confirm")
    if await services(context).storage.donations.monthly_gifts(update.effective_user.id):
        text = f"{t('forget.monthly_active')}\n\n{text}"  # charges would go on, unlinked
    await update.effective_message.reply_text(text, reply_markup=buttons)


async def forget_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The answer to the confirmation; the question's buttons are removed either way."""
    query = update.callback_query
    t = await user_texts(update.effective_user, context)
    await query.answer()
    if query.data == callback("forget", "yes"):
        user_id = update.effective_user.id
        deleted = await services(context).storage.forget(user_id)
        services(context).forget_in_memory(user_id)
        outcome = t("forget.done") if deleted else t("forget.nothing")
    else:
        outcome = t("forget.cancelled")
    await query.edit_message_text(outcome)


def register(application: Application) -> None:
    application.add_handler(CommandHandler("privacy", privacy, filters=PRIVATE))
    application.add_handler(CommandHandler("forget", forget, filters=PRIVATE))
    application.add_handler(CallbackQueryHandler(forget_button, pattern=r"^forget:(yes|no)$"))
