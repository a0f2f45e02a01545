"""/subscribe and /unsubscribe: news about the appeal, only for people who opt in."""

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from handlers.common import PRIVATE, is_subscribed, user_texts
from tgbot.services import services


async def set_subscription(
    update: Update, context: ContextTypes.DEFAULT_TYPE, subscribed: bool
) -> None:
    user = update.effective_user
    t = await user_texts(user, context)
    changed = await services(context).storage.users.set_subscribed(user.id, t.language, subscribed)
    if subscribed:
        key = "subscribe.done" if changed else "subscribe.already"
    else:
        key = "unsubscribe.done" if changed else "unsubscribe.already"
    await update.effective_message.reply_text(t(key))


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


async def subscribe_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The "Get news" button offered with a thank-you."""
    await update.callback_query.answer()
    await subscribe(update, context)


def register(application: Application) -> None:
    application.add_handler(CommandHandler("subscribe", subscribe, filters=PRIVATE))
    application.add_handler(CommandHandler("unsubscribe", unsubscribe, filters=PRIVATE))
    application.add_handler(CallbackQueryHandler(subscribe_button, pattern=r"^sub:on$"))
