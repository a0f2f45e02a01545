"""/privacy says what is kept; /forget deletes it after a confirmation."""

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from handlers.common import PRIVATE, callback, user_texts
from tgbot.runtime.memory import DELETABLE_SECONDS
from tgbot.services import services
from tgbot.settings import Settings
from tgbot.text.i18n import Texts

BULLETS = (
    "privacy.id",
    "privacy.choices",
    "privacy.delivery",
    "privacy.payments",
    "privacy.times",
    "privacy.memory",
)
"""One bullet per kind of data; tgbot/storage/personal_data.py maps each column to one."""
IN_MEMORY = frozenset({"privacy.memory"})
"""Bullets about what is only held in memory, so no column names them."""


def privacy_text(t: Texts, settings: Settings) -> str:
    """What is kept, and for how long backups keep it when the operator makes them."""
    bullets = "\n".join(f"• {t(key, hours=DELETABLE_SECONDS // 3600)}" for key in BULLETS)
    parts = [t("privacy.title"), bullets, t("privacy.not_kept"), t("privacy.forget_hint")]
    if days := settings.backup_retention_days:
        parts.append(t("privacy.backups", count=days))
    return "\n\n".join(parts)


async def privacy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    t = await user_texts(update.effective_user, context)
    await update.effective_message.reply_text(privacy_text(t, services(context).settings))


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
