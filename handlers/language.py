"""Choosing the language: a picker with one button per language, and `/language ru`."""

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from handlers.common import PRIVATE, callback, is_subscribed, main_menu, user_texts
from tgbot.services import services
from tgbot.settings import LANGUAGES
from tgbot.text.i18n import supported_language, texts
from tgbot.text.textmatch import normalize


def picker() -> InlineKeyboardMarkup:
    """Each language under its own name, two to a row."""
    buttons = [
        InlineKeyboardButton(texts(code)("language.name"), callback_data=callback("lang", code))
        for code in LANGUAGES
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


async def show_picker(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    t = await user_texts(update.effective_user, context)
    await update.effective_message.reply_text(t("language.prompt"), reply_markup=picker())


def parse_language(text: str) -> str | None:
    """A language from a code (`ru`, `de-AT`) or its own name (`Русский`, `français`)."""
    if len(text) > 32:
        return None
    wanted = normalize(text).strip()
    by_name = {normalize(texts(code)("language.name")): code for code in LANGUAGES}
    return by_name.get(wanted) or supported_language(wanted)


async def choose(update: Update, context: ContextTypes.DEFAULT_TYPE, language: str) -> None:
    """Store the choice and confirm it, with the main menu, in the new language."""
    user = update.effective_user
    await services(context).storage.users.choose_language(user.id, language)
    services(context).languages.put(user.id, language)
    t = texts(language)
    subscribed = await is_subscribed(user, context)
    await update.effective_message.reply_text(
        t("language.changed"), reply_markup=main_menu(t, subscribed)
    )


async def language_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/language` shows the picker; `/language de` switches at once."""
    if not context.args:
        await show_picker(update, context)
        return
    code = " ".join(context.args)
    language = parse_language(code)
    if language is None:
        t = await user_texts(update.effective_user, context)
        available = ", ".join(f"{texts(c)('language.name')} ({c})" for c in LANGUAGES)
        await update.effective_message.reply_text(
            t("language.unknown", code=code[:32], available=available, count=len(LANGUAGES)),
            reply_markup=picker(),
        )
        return
    await choose(update, context, language)


async def language_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A tap on the picker."""
    query = update.callback_query
    await query.answer()
    await choose(update, context, query.data.removeprefix("lang:"))


def register(application: Application) -> None:
    application.add_handler(CommandHandler("language", language_command, filters=PRIVATE))
    pattern = rf"^lang:({'|'.join(LANGUAGES)})$"
    application.add_handler(CallbackQueryHandler(language_button, pattern=pattern))
