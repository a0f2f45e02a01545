"""Free-text messages: an amount the bot asked for, else a question answered from the FAQ.

Calls for help never get here: `handlers.safety` answers them before any queue. The text of
a message is used only to choose the reply; it is never stored or logged.
"""

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from handlers import donations
from handlers.common import PRIVATE, callback, user_state, user_texts
from handlers.notes import faq_values
from handlers.subscription import news_offer
from tgbot.services import services
from tgbot.text.faq import Topic
from tgbot.text.i18n import Texts
from tgbot.text.safety import Danger

Result = TypeVar("Result")
_MATCHING = ThreadPoolExecutor(max_workers=1, thread_name_prefix="matching")
"""Matching is CPU work (tens of ms for a long hostile message). It runs off the event loop so
that other people's replies do not wait, in one thread because pymorphy3 is not documented
as safe to share between threads."""


async def off_loop(function: Callable[..., Result], *args: object) -> Result:
    return await asyncio.get_running_loop().run_in_executor(_MATCHING, function, *args)


def topic_buttons(t: Texts, context: ContextTypes.DEFAULT_TYPE) -> InlineKeyboardMarkup:
    topics = services(context).faq.topics(t.language)
    buttons = [
        InlineKeyboardButton(topic.button, callback_data=callback("faq", topic.id))
        for topic in topics
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


async def show_topics(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The FAQ topics as buttons."""
    t = await user_texts(update.effective_user, context)
    await update.effective_message.reply_text(
        t("faq.topics_prompt"), reply_markup=topic_buttons(t, context)
    )


FOLLOW_UPS = {"progress": donations.progress, "donate": donations.donate}


async def answer(
    update: Update, context: ContextTypes.DEFAULT_TYPE, t: Texts, topic: Topic, subscribed: bool
) -> None:
    """A topic's answer, then the feature it leads to (the live total, the amount buttons).

    Someone not subscribed is offered news with their first answer.
    """
    text = topic.answer.format(**faq_values(t, services(context).settings))
    user_id = update.effective_user.id
    offer = None if topic.follow_up else news_offer(t, context, user_id, subscribed)
    await update.effective_message.reply_text(text, reply_markup=offer)
    if topic.follow_up is not None:
        await FOLLOW_UPS[topic.follow_up](update, context)


async def text_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An amount the bot asked for; anything else is a question."""
    text = update.effective_message.text
    t, record = await user_state(update.effective_user, context)
    if await donations.take_typed_amount(update, context, t):
        return
    found = await off_loop(services(context).faq.match, text, t.language)
    topic = services(context).faq.topic(t.language, found.topic) if found else None
    if topic is not None and topic.follow_up == "donate" and called_for_help(text, context):
        topic = None
    if topic is None and donations.awaits_amount(context, update.effective_user.id):
        await donations.ask_for_digits(update, context, t)  # "twenty", not a question
        return
    if topic is None:
        await update.effective_message.reply_text(
            t("faq.fallback"), reply_markup=topic_buttons(t, context)
        )
        return
    await answer(update, context, t, topic, subscribed=record is not None and record.subscribed)


def called_for_help(text: str, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """`help me` and `how can I help` share their words, so the FAQ hears the donate topic in
    both. The danger check tells them apart: a message it flagged got the emergency line
    first, and is not followed by an appeal for money (the topic buttons come instead)."""
    return services(context).safety.assess(text) is not Danger.NONE


async def topic_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A topic button: its answer, or a notice when the button names no topic (any more)."""
    query = update.callback_query
    t, record = await user_state(update.effective_user, context)
    topic = services(context).faq.topic(t.language, query.data.removeprefix("faq:"))
    if topic is None:
        await query.answer(t("error.stale_button"))
        return
    await query.answer()
    await answer(update, context, t, topic, subscribed=record is not None and record.subscribed)


def register(application: Application) -> None:
    application.add_handler(MessageHandler(PRIVATE & filters.TEXT & ~filters.COMMAND, text_message))
    application.add_handler(CallbackQueryHandler(topic_button, pattern=r"^faq:"))
