"""/mydonations: a supporter's own gifts through the bot, and cancelling a monthly gift."""

from datetime import UTC, datetime

from babel.dates import format_date
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from handlers.common import PRIVATE, callback, user_texts
from handlers.donations import not_configured
from tgbot.payments.gateway import PaymentsUnavailable
from tgbot.payments.money import Money
from tgbot.services import services


async def my_donations(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Active monthly gifts, each with a cancel button, and how many one-time gifts."""
    if services(context).payments is None:
        await not_configured(update, context)
        return
    t = await user_texts(update.effective_user, context)
    store = services(context).storage.donations
    gifts = await store.monthly_gifts(update.effective_user.id)
    lines, buttons = [t("mine.title"), ""], []
    for gift in gifts:
        money = Money(gift.amount, gift.currency)
        since = format_date(datetime.fromtimestamp(gift.created_at, UTC), locale=t.language)
        lines.append(t("mine.monthly", amount=money, date=since))
        data = callback("mine", gift.ref)
        buttons.append(
            [InlineKeyboardButton(t("mine.cancel_button", amount=money), callback_data=data)]
        )
    if not gifts:
        lines.append(t("mine.none_monthly"))
    if once := await store.one_time_gifts(update.effective_user.id):
        lines += ["", t("mine.one_time", count=once)]
    markup = InlineKeyboardMarkup(buttons) if buttons else None
    await update.effective_message.reply_text("\n".join(lines), reply_markup=markup)


async def cancel_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Cancel the monthly gift a button names, if it is the user's own and still running."""
    query = update.callback_query
    await query.answer()
    payments = services(context).payments
    if payments is None:
        return
    t = await user_texts(update.effective_user, context)
    try:
        gift = await payments.cancel_monthly(update.effective_user.id, query.data[len("mine:") :])
    except PaymentsUnavailable:
        await update.effective_message.reply_text(t("mine.cancel_failed"))
        return
    if gift is None:
        await update.effective_message.reply_text(t("mine.not_found"))
        return
    await update.effective_message.reply_text(
        t("mine.canceled", amount=Money(gift.amount, gift.currency))
    )


def register(application: Application) -> None:
    application.add_handler(CommandHandler("mydonations", my_donations, filters=PRIVATE))
    application.add_handler(CallbackQueryHandler(cancel_button, pattern=r"^mine:[0-9a-f]{16}$"))
