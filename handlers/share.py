"""Passing the appeal on: /share, and the appeal card in inline mode (`@AppealBot` in any chat)."""

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Update,
)
from telegram.ext import Application, CommandHandler, ContextTypes, InlineQueryHandler

from handlers.common import PRIVATE, user_texts
from handlers.notes import caution, with_notes
from tgbot.services import services

INLINE_CACHE_SECONDS = 300


def bot_link(context: ContextTypes.DEFAULT_TYPE, start: str | None = None) -> str:
    """`https://t.me/<bot>`, optionally with a deep-link payload."""
    link = f"https://t.me/{context.bot.username}"
    return f"{link}?start={start}" if start else link


async def share(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A ready-to-forward text, and a button that sends the appeal card to any chat."""
    t = await user_texts(update.effective_user, context)
    button = InlineKeyboardButton(t("share.button"), switch_inline_query="")
    intro = with_notes(t("share.intro"), caution(t, services(context).settings, "share"))
    await update.effective_message.reply_text(intro, reply_markup=InlineKeyboardMarkup([[button]]))
    await update.effective_message.reply_text(t("share.text", link=bot_link(context)))


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Offer the appeal card in the user's language, whatever they typed after the name."""
    t = await user_texts(update.effective_user, context)
    buttons = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(t("inline.donate_button"), url=bot_link(context, "donate"))],
            [InlineKeyboardButton(t("inline.open_button"), url=bot_link(context))],
        ]
    )
    card = InlineQueryResultArticle(
        id=f"appeal-{t.language}",
        title=t("inline.title"),
        description=t("inline.description"),
        input_message_content=InputTextMessageContent(t("inline.card")),
        reply_markup=buttons,
    )
    await update.inline_query.answer([card], cache_time=INLINE_CACHE_SECONDS, is_personal=True)


def register(application: Application) -> None:
    application.add_handler(CommandHandler("share", share, filters=PRIVATE))
    application.add_handler(InlineQueryHandler(inline_query))
