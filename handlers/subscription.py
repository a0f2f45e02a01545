"""/subscribe and /unsubscribe: news about the appeal, only for people who opt in.

Every news message has a Stop news button, so leaving is one tap. After it, the person may
give a reason with one more tap; only a count per reason is kept, never who gave it.

A subscriber may choose discreet news (/discreet, or the button under the confirmation): news
that comes without a sound and starts with a neutral line, for someone whose phone others see.
"""

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from handlers.common import PRIVATE, callback, is_subscribed, user_state, user_texts
from tgbot.services import services
from tgbot.text.i18n import Texts

REASONS = ("too_often", "not_relevant", "privacy", "other")


def reason_buttons(t: Texts) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            t(f"unsubscribe.reason_{reason}"), callback_data=callback("unsub", reason)
        )
        for reason in REASONS
    ]
    return InlineKeyboardMarkup([[button] for button in buttons])  # too long to pair


def news_offer(
    t: Texts, context: ContextTypes.DEFAULT_TYPE, user_id: int, subscribed: bool
) -> InlineKeyboardMarkup | None:
    """A Get news button, offered once (while remembered) to someone not subscribed."""
    offered = services(context).news_offered
    if subscribed or offered.get(user_id):
        return None
    offered.put(user_id, True)
    button = InlineKeyboardButton(t("menu.subscribe"), callback_data=callback("sub", "on"))
    return InlineKeyboardMarkup([[button]])


def discreet_state(t: Texts, discreet: bool) -> tuple[str, InlineKeyboardMarkup]:
    """The line saying whether news comes discreetly, and the button that switches it."""
    if discreet:
        line, label, target = t("discreet.state_on"), t("discreet.turn_off_button"), "off"
    else:
        line, label, target = t("discreet.state_off"), t("discreet.turn_on_button"), "on"
    button = InlineKeyboardButton(label, callback_data=callback("discreet", target))
    return line, InlineKeyboardMarkup([[button]])


async def set_subscription(
    update: Update, context: ContextTypes.DEFAULT_TYPE, subscribed: bool
) -> None:
    user = update.effective_user
    t = await user_texts(user, context)
    users = services(context).storage.users
    changed = await users.set_subscribed(user.id, t.language, subscribed)
    message = update.effective_message
    if subscribed:
        record = await users.get(user.id)
        line, markup = discreet_state(t, record.discreet)
        done = t("subscribe.done" if changed else "subscribe.already")
        await message.reply_text(f"{done}\n\n{line}", reply_markup=markup)
    elif not changed:
        await message.reply_text(t("unsubscribe.already"))
    else:
        services(context).reason_due.put(user.id, True)
        await message.reply_text(
            f"{t('unsubscribe.done')}\n\n{t('unsubscribe.reason_prompt')}",
            reply_markup=reason_buttons(t),
        )


async def subscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Opt in to news."""
    await set_subscription(update, context, subscribed=True)


async def unsubscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Opt out of news."""
    await set_subscription(update, context, subscribed=False)


async def toggle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The menu's Get news / Stop news button."""
    subscribed = await is_subscribed(update.effective_user, context)
    await set_subscription(update, context, subscribed=not subscribed)


async def subscription_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Get news (offered with a thank-you or an answer) and Stop news (under every post)."""
    query = update.callback_query
    await query.answer()
    await set_subscription(update, context, subscribed=query.data == callback("sub", "on"))


async def discreet(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Turn discreet news on or off, and say which it is now."""
    user = update.effective_user
    t, record = await user_state(user, context)
    message = update.effective_message
    if record is None or not record.subscribed:
        await message.reply_text(t("discreet.not_subscribed"))
        return
    wanted = not record.discreet
    await services(context).storage.users.set_discreet(user.id, wanted)
    line, markup = discreet_state(t, wanted)
    await message.reply_text(line, reply_markup=markup)


async def discreet_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Discreet news on or off from a confirmation's button; its state line is replaced."""
    query = update.callback_query
    t = await user_texts(update.effective_user, context)
    wanted = query.data == callback("discreet", "on")
    if not await services(context).storage.users.set_discreet(update.effective_user.id, wanted):
        await query.answer(t("discreet.not_subscribed"))
        return
    await query.answer()
    line, markup = discreet_state(t, wanted)
    before = query.message.text_html.rpartition("\n\n")[0]  # the state line is the last one
    try:
        await query.edit_message_text(
            f"{before}\n\n{line}" if before else line, reply_markup=markup
        )
    except BadRequest as error:  # a second tap on the same button before the first edit
        if "not modified" not in error.message:
            raise


async def reason_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Count the reason once, then thank and remove the buttons."""
    query = update.callback_query
    t = await user_texts(update.effective_user, context)
    if not services(context).reason_due.pop(update.effective_user.id):
        await query.answer(t("error.stale_button"))
        return
    await services(context).storage.users.count_reason(query.data.removeprefix("unsub:"))
    await query.answer(t("unsubscribe.reason_thanks"))
    await query.edit_message_text(f"{t('unsubscribe.done')}\n\n{t('unsubscribe.reason_thanks')}")


def register(application: Application) -> None:
    application.add_handler(CommandHandler("subscribe", subscribe, filters=PRIVATE))
    application.add_handler(CommandHandler("unsubscribe", unsubscribe, filters=PRIVATE))
    application.add_handler(CommandHandler("discreet", discreet, filters=PRIVATE))
    application.add_handler(CallbackQueryHandler(subscription_button, pattern=r"^sub:(on|off)$"))
    application.add_handler(CallbackQueryHandler(discreet_button, pattern=r"^discreet:(on|off)$"))
    application.add_handler(
        CallbackQueryHandler(reason_button, pattern=rf"^unsub:({'|'.join(REASONS)})$")
    )
