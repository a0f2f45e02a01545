"""/erase and the emergency reply's "Erase this chat" button: delete the conversation.

For someone whose phone may be checked. After one confirmation the bot deletes every message
of the private chat it still can (its own and the person's, up to 48 hours old, by the ids it
remembered in memory), forgets the person as /forget does, and ends with one neutral line.
A monthly gift would keep showing on their card statement, so the confirmation offers to
cancel it too.
"""

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from handlers.common import PRIVATE, callback, user_texts
from tgbot.payments.gateway import PaymentsUnavailable
from tgbot.services import services

log = logging.getLogger(__name__)

DELETE_BATCH = 100
"""`deleteMessages` takes at most 100 ids."""


async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The one confirmation, with the monthly gift's cancellation offered when there is one."""
    t = await user_texts(update.effective_user, context)
    if update.callback_query is not None:
        await update.callback_query.answer()
    gifts = await services(context).storage.donations.monthly_gifts(update.effective_user.id)
    text = t("erase.confirm")
    rows = [[InlineKeyboardButton(t("erase.yes_button"), callback_data=callback("erase", "yes"))]]
    if gifts and services(context).payments is not None:
        text = f"{text}\n\n{t('erase.monthly')}"
        data = callback("erase", "gift")
        rows.insert(0, [InlineKeyboardButton(t("erase.cancel_gift_button"), callback_data=data)])
    rows.append([InlineKeyboardButton(t("erase.no_button"), callback_data=callback("erase", "no"))])
    await update.effective_chat.send_message(text, reply_markup=InlineKeyboardMarkup(rows))


async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await query.answer()
    if query.data == callback("erase", "no"):
        t = await user_texts(update.effective_user, context)
        await query.edit_message_text(t("erase.cancelled"))
        return
    await erase(update, context, cancel_gifts=query.data == callback("erase", "gift"))


async def erase(update: Update, context: ContextTypes.DEFAULT_TYPE, *, cancel_gifts: bool) -> None:
    """Delete the chat, then forget the person; a monthly gift that goes on stays linked to
    them, or it could never be stopped."""
    user, chat = update.effective_user, update.effective_chat
    t = await user_texts(user, context)  # read before forgetting: the last line's language
    cancel_failed = cancel_gifts and not await _cancel_monthly_gifts(user.id, context)
    await _delete_recent(chat.id, context)
    running = bool(await services(context).storage.donations.monthly_gifts(user.id))
    await services(context).storage.forget(user.id, keep_donations=running)
    services(context).forget_in_memory(user.id)
    await chat.send_message(t("erase.done_gift_running" if cancel_failed else "erase.done"))
    services(context).recent.forget(chat.id)  # the last line is all that is left


async def _cancel_monthly_gifts(user_id: int, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Cancel every running monthly gift; False when Stripe could not be reached."""
    payments = services(context).payments
    if payments is None:
        return False
    gifts = await services(context).storage.donations.monthly_gifts(user_id)
    try:
        for gift in gifts:
            await payments.cancel_monthly(user_id, gift.ref)
    except PaymentsUnavailable:
        return False
    return True


async def _delete_recent(chat_id: int, context: ContextTypes.DEFAULT_TYPE) -> None:
    ids = services(context).recent.take(chat_id)
    for start in range(0, len(ids), DELETE_BATCH):
        try:
            await context.bot.delete_messages(chat_id, ids[start : start + DELETE_BATCH])
        except TelegramError as error:  # e.g. some too old: delete what can be deleted
            log.warning("could not delete a batch of messages: %s", type(error).__name__)


def register(application: Application) -> None:
    application.add_handler(CommandHandler("erase", ask, filters=PRIVATE))
    application.add_handler(CallbackQueryHandler(ask, pattern=r"^erase:$"))
    application.add_handler(CallbackQueryHandler(answer, pattern=r"^erase:(yes|no|gift)$"))
