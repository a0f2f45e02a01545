"""/start with its deep links, /help, /about and the main menu's buttons."""

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from handlers import donations, language, mydonations, privacy, questions, share, subscription
from handlers.common import PRIVATE, main_menu, replies_with, user_state

about = replies_with("about.text")
help_command = replies_with("help.text")


async def send_menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The greeting with the main menu."""
    t, record = await user_state(update.effective_user, context)
    subscribed = record is not None and record.subscribed
    await update.effective_message.reply_text(
        t("start.greeting"), reply_markup=main_menu(t, subscribed)
    )


DEEP_LINKS = {
    "about": about,
    "donate": donations.donate,
    "progress": donations.progress,
    "subscribe": subscription.subscribe,
    "faq": questions.show_topics,
    "share": share.share,
    "privacy": privacy.privacy,
    "paid": donations.returned_from_checkout,
    "mydonations": mydonations.my_donations,
}

MENU = {
    "about": about,
    "questions": questions.show_topics,
    "donate": donations.donate,
    "progress": donations.progress,
    "subscription": subscription.toggle,
    "share": share.share,
    "language": language.show_picker,
}


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet with the main menu, or go straight to a deep link's feature (`/start donate`)."""
    payload = context.args[0].lower() if context.args else ""
    await DEEP_LINKS.get(payload, send_menu)(update, context)


async def menu_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A main-menu button: acknowledge the tap, then run the feature it names."""
    query = update.callback_query
    await query.answer()
    await MENU[query.data.removeprefix("menu:")](update, context)


def register(application: Application) -> None:
    application.add_handler(CommandHandler("start", start, filters=PRIVATE))
    application.add_handler(CommandHandler("help", help_command, filters=PRIVATE))
    application.add_handler(CommandHandler("about", about, filters=PRIVATE))
    pattern = rf"^menu:({'|'.join(MENU)})$"
    application.add_handler(CallbackQueryHandler(menu_button, pattern=pattern))
