"""Pieces every conversation handler uses: the user's language, menus, callback data."""

from collections.abc import Awaitable, Callable

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update, User
from telegram.constants import ChatType
from telegram.ext import CallbackContext, ContextTypes, filters

from tgbot.services import services
from tgbot.settings import Settings
from tgbot.storage import UserRecord
from tgbot.text.i18n import Texts, supported_language, texts

PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
"""New messages in private chats; edits and channel posts are left alone."""
GROUPS = filters.ChatType.GROUPS & filters.UpdateType.MESSAGE

MENU_ITEMS = ("about", "questions", "donate", "progress", "subscription", "share", "language")


def callback(feature: str, argument: str = "") -> str:
    """Callback data `feature:argument`; always far below Telegram's 64-byte limit."""
    return f"{feature}:{argument}"


async def user_texts(user: User | None, context: CallbackContext) -> Texts:
    """Texts in the user's language: their stored choice, else their Telegram client's."""
    return (await user_state(user, context))[0]


async def user_state(
    user: User | None, context: CallbackContext
) -> tuple[Texts, UserRecord | None]:
    """The user's texts and stored row, read once.

    A subscriber who never chose a language gets news in their client's language, so a change
    of the client's language is written through to their stored row. Someone marked as having
    blocked the bot is unmarked: they are talking to it again.
    """
    client = client_language(user, services(context).settings)
    if user is None:
        return texts(client), None
    users = services(context).storage.users
    record = await users.get(user.id)
    if record is not None and record.language_chosen:
        services(context).languages.put(user.id, record.language)
    else:
        services(context).languages.forget(user.id)
    if record is None:
        return texts(client), None
    if record.blocked:  # they are writing to the bot again
        await users.set_blocked(user.id, False)
    if record.language_chosen:
        return texts(record.language), record
    if record.language != client:
        await users.follow_client_language(user.id, client)
    return texts(client), record


def remembered_texts(user: User | None, context: CallbackContext) -> Texts:
    """Texts in the user's language from memory alone: their choice as last read, else
    their client's. For replies that must not wait on the database."""
    chosen = services(context).languages.get(user.id) if user is not None else None
    return texts(chosen or client_language(user, services(context).settings))


def client_language(user: User | None, settings: Settings) -> str:
    """The Telegram client's language when supported, else the configured default."""
    code = user.language_code if user else None
    return supported_language(code) or settings.default_language


Callback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]


def replies_with(key: str) -> Callback:
    """A handler that answers with one message of the catalog, in the user's language."""

    async def reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        t = await user_texts(update.effective_user, context)
        await update.effective_message.reply_text(t(key))

    return reply


async def is_subscribed(user: User, context: CallbackContext) -> bool:
    record = await services(context).storage.users.get(user.id)
    return record is not None and record.subscribed


def main_menu(t: Texts, subscribed: bool) -> InlineKeyboardMarkup:
    subscription = t("menu.unsubscribe") if subscribed else t("menu.subscribe")
    button = InlineKeyboardButton
    return InlineKeyboardMarkup(
        [
            [
                button(t("menu.about"), callback_data=callback("menu", "about")),
                button(t("menu.questions"), callback_data=callback("menu", "questions")),
            ],
            [
                button(t("menu.donate"), callback_data=callback("menu", "donate")),
                button(t("menu.progress"), callback_data=callback("menu", "progress")),
            ],
            [
                button(subscription, callback_data=callback("menu", "subscription")),
                button(t("menu.share"), callback_data=callback("menu", "share")),
            ],
            [button(t("menu.language"), callback_data=callback("menu", "language"))],
        ]
    )


def is_private(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type == ChatType.PRIVATE
