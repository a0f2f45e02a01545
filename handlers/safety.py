"""The first answer to every update: a call for help gets the emergency contact at once.

`respond_first` runs for each update as soon as it arrives, before the throttle, before the
person's earlier updates finish (`PerUserOrder`), before any database access or FAQ work.
It needs nothing but memory: the detector, the settings, and the language the person chose
as last read. Private messages, edits, captions and inline queries are all checked; a voice
note, photo or sticker is answered that the bot reads only text, with the emergency line,
since a call for help may come that way. The text is read here and dropped: nothing keeps it.
"""

import asyncio
import html
import logging
from functools import partial

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, NetworkError, TelegramError
from telegram.ext import Application, ContextTypes

from handlers.common import callback, remembered_texts
from tgbot.broadcasts.limiter import Priority
from tgbot.runtime.ordering import PerUserOrder
from tgbot.runtime.throttle import Verdict
from tgbot.services import services
from tgbot.settings import Settings
from tgbot.text.i18n import Html, Texts
from tgbot.text.safety import Danger

log = logging.getLogger(__name__)

EMERGENCY_RESULT_ID = "emergency"
SEND_RETRIES = (0.2, 0.5, 1.0)
"""Pauses before sending the emergency reply again after a network error or a 5xx. A reply
that arrived but whose answer was lost comes twice: better than not at all."""


def emergency_contact(t: Texts, settings: Settings) -> Html:
    return Html(html.escape(settings.emergency_text(t.language)))


def emergency_line(t: Texts, context: ContextTypes.DEFAULT_TYPE) -> str:
    """The one-line emergency contact other replies carry (slow down, errors)."""
    return t("safety.line", contact=emergency_contact(t, services(context).settings))


def erase_button(t: Texts) -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(t("safety.erase_button"), callback_data=callback("erase"))
    return InlineKeyboardMarkup([[button]])


async def respond_first(application: Application, update: object) -> bool:
    """Answer a call for help before anything else; True when nothing more is to be done.

    Never raises: a failure here is logged by type and the update goes on as usual.
    """
    if not isinstance(update, Update) or update.effective_user is None:
        return False
    context = ContextTypes.DEFAULT_TYPE.from_update(update, application)
    if update.effective_user.id in services(context).settings.admin_ids:
        return False  # an admin's news draft may tell of danger: it is theirs to post
    try:
        if update.inline_query is not None:
            return await _inline_query(update, context)
        message = update.message or update.edited_message
        if message is None or message.chat.type != ChatType.PRIVATE:
            return False
        if update.message is not None:
            services(context).recent.add(message.chat.id, message.message_id)
        return await _private_message(update, message, context)
    except Exception as error:  # the emergency path must never take the update down with it
        log.error("the first response failed: %s", type(error).__name__)
        return False


async def _private_message(
    update: Update, message: Message, context: ContextTypes.DEFAULT_TYPE
) -> bool:
    text = message.text or message.caption
    danger = services(context).safety.assess(text) if text else Danger.NONE
    if danger is Danger.CLEAR:
        await _send(update, context, "safety.reply")
        return True
    if message.text is None and update.message is not None and _unreadable(message):
        await _send(update, context, "safety.media")  # it carries the emergency line
        return True
    if danger is Danger.POSSIBLE:
        await _send(update, context, "safety.line")
    # an edit gets no second answer; possible danger goes on as usual
    return update.message is None


def _unreadable(message: Message) -> bool:
    """Something a person sent that carries no text: voice, video note, photo, sticker…"""
    return bool(
        message.voice or message.video_note or message.photo or message.sticker
        or message.video or message.audio or message.document or message.animation
        or message.location or message.contact
    )  # fmt: skip


async def _send(update: Update, context: ContextTypes.DEFAULT_TYPE, key: str) -> None:
    user = update.effective_user
    if services(context).urgent_throttle.check(user.id) is Verdict.DROP:
        return  # they were shown the contact many times this minute
    t = remembered_texts(user, context)
    text = t(key, contact=emergency_contact(t, services(context).settings))
    for pause in (*SEND_RETRIES, None):
        try:
            await context.bot.send_message(
                update.effective_chat.id, text, reply_markup=erase_button(t),
                rate_limit_args=Priority.URGENT,
            )  # fmt: skip
            return
        except BadRequest:
            raise  # a refused request fails the same way each time
        except NetworkError as error:  # 5xx, time-outs: this message above all must go out
            if pause is None:
                raise
            log.warning("the emergency reply failed (%s); trying again", type(error).__name__)
            await asyncio.sleep(pause)


async def _inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """An inline query that is a call for help is offered the emergency card alone.

    The card is sent into whatever chat the person is in, where people do read: it gives
    the contacts only, without the line about this bot's chat."""
    query = update.inline_query
    if services(context).safety.assess(query.query, learned=False) is Danger.NONE:
        return False
    t = remembered_texts(update.effective_user, context)
    contact = emergency_contact(t, services(context).settings)
    card = InlineQueryResultArticle(
        id=EMERGENCY_RESULT_ID,
        title=t("safety.inline_title"),
        description=t("safety.inline_description"),
        input_message_content=InputTextMessageContent(t("safety.inline_card", contact=contact)),
    )
    try:
        await query.answer([card], cache_time=0, is_personal=True)
    except TelegramError as error:  # the query expired: nothing more can be shown
        log.warning("could not answer an inline query: %s", type(error).__name__)
    return True


def register(application: Application) -> None:
    processor = application.update_processor
    if isinstance(processor, PerUserOrder):
        processor.first = partial(respond_first, application)
