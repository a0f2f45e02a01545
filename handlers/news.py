"""News posts by admins: /post with `[xx]` language blocks, a preview, then Send or Discard;
/broadcasts to follow them and /cancel_broadcast to stop one.

While an admin has a draft open, their messages (other than commands) go into it: a handler
in an early group takes them before the FAQ does.
"""

from dataclasses import replace

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageEntity, Update
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from handlers.admin import admins_only, audit
from handlers.common import PRIVATE, user_texts
from tgbot.broadcasts.compose import ComposeError, parse_post, post_limit, visible_length
from tgbot.broadcasts.report import summary_text
from tgbot.services import services
from tgbot.settings import LANGUAGES
from tgbot.storage.broadcasts import Broadcast, ConfirmProblem
from tgbot.text.i18n import Texts

ADMIN_COMMANDS = ("post", "broadcasts", "cancel_broadcast")
RECENT = 10
DRAFT_GROUP = -2
"""Handler group that sees an admin's messages before every feature."""


@admins_only
async def post(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Open a new draft (replacing any earlier one); text after the command goes into it."""
    message = update.effective_message
    t = await user_texts(update.effective_user, context)
    store = services(context).storage.broadcasts
    draft_id = await store.start_draft(update.effective_user.id)
    await audit(update, context, "post.draft", draft_id)
    command_length = next(
        (e.length for e in message.entities if e.type == MessageEntity.BOT_COMMAND), 0
    )
    body = message.text[command_length:]
    if body.strip():
        entities = MessageEntity.shift_entities(-command_length, message.entities)
        draft = await store.draft(update.effective_user.id)
        await add_to_draft(update, context, t, draft, body, entities, photo=None)
    else:
        default = services(context).settings.default_language
        await message.reply_text(t("post.instructions", default=default))


async def draft_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An admin's message while their draft is open becomes part of it."""
    user = update.effective_user
    if user is None or user.id not in services(context).settings.admin_ids:
        return
    draft = await services(context).storage.broadcasts.draft(user.id)
    if draft is None:
        return
    message = update.effective_message
    t = await user_texts(user, context)
    if message.text:
        await add_to_draft(update, context, t, draft, message.text, message.entities, None)
    elif message.photo:
        caption, entities = message.caption or "", message.caption_entities
        await add_to_draft(update, context, t, draft, caption, entities, message.photo[-1].file_id)
    else:
        await message.reply_text(t("post.unsupported"))
    raise ApplicationHandlerStop


async def add_to_draft(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    t: Texts,
    draft: Broadcast,
    text: str,
    entities: tuple[MessageEntity, ...],
    photo: str | None,
) -> None:
    """Parse the blocks, store them, preview the languages they change and summarize."""
    store = services(context).storage.broadcasts
    default = services(context).settings.default_language
    message = update.effective_message
    with_photo = photo is not None or draft.photo is not None
    limit = post_limit(with_photo)
    try:
        blocks = parse_post(text, entities, default, limit=limit) if text.strip() else {}
    except ComposeError as error:
        problem = t(
            f"post.{error.problem}", language=error.language, default=default, limit=limit,
            available=", ".join(LANGUAGES),
        )  # fmt: skip
        await message.reply_text(problem)
        return
    if not blocks and photo is None:
        await message.reply_text(t("post.empty"))
        return
    too_long = [lang for lang, html in draft.texts.items() if visible_length(html) > limit]
    if photo is not None and too_long:
        await message.reply_text(t("post.caption_too_long", language=too_long[0], limit=limit))
        return
    if not await store.add_to_draft(draft.broadcast_id, blocks, photo):
        await message.reply_text(t("post.gone"))
        return
    draft = replace(draft, texts=draft.texts | blocks, photo=photo or draft.photo)
    changed = draft.texts if photo is not None else blocks
    for language in (code for code in LANGUAGES if code in changed):
        if not await preview(update, context, t, draft, language):
            return
    await send_summary(update, context, t, draft)


async def preview(
    update: Update, context: ContextTypes.DEFAULT_TYPE, t: Texts, draft: Broadcast, language: str
) -> bool:
    """Send the admin exactly what `language`'s subscribers will get; False if refused."""
    chat_id = update.effective_chat.id
    await update.effective_message.reply_text(t("post.preview_label", language=language))
    try:
        await services(context).broadcaster.send_copy(context.bot, chat_id, draft, language)
    except BadRequest as error:
        await services(context).storage.broadcasts.drop_text(draft.broadcast_id, language)
        await update.effective_message.reply_text(
            t("post.refused", language=language, reason=error.message)
        )
        return False
    return True


async def send_summary(
    update: Update, context: ContextTypes.DEFAULT_TYPE, t: Texts, draft: Broadcast
) -> None:
    """Texts, fallbacks, recipients per language, and the Send / Discard buttons."""
    default = services(context).settings.default_language
    audience = await services(context).storage.broadcasts.audience()
    total = sum(audience.values())
    written = [code for code in LANGUAGES if code in draft.texts]
    lines = [t("post.summary_title", id=draft.broadcast_id)]
    if written:
        lines.append(t("post.languages", list=", ".join(written)))
    missing = [code for code in LANGUAGES if code not in draft.texts]
    if default not in draft.texts:
        lines.append(t("post.no_default", default=default))
    elif missing:
        lines.append(t("post.fallback", list=", ".join(missing), default=default))
    if draft.photo:
        lines.append(t("post.with_photo"))
    if total:
        counts = ", ".join(
            f"{code} {t.number(audience[code])}" for code in LANGUAGES if code in audience
        )
        lines.append(t("post.recipients", list=counts, count=total))
    else:
        lines.append(t("post.no_subscribers"))
    lines.append(t("post.more"))
    buttons = []
    if default in draft.texts:
        send = t("post.send_button", count=total)
        buttons.append(
            [InlineKeyboardButton(send, callback_data=f"post:send:{draft.broadcast_id}")]
        )
    discard = t("post.cancel_button")
    buttons.append(
        [InlineKeyboardButton(discard, callback_data=f"post:discard:{draft.broadcast_id}")]
    )
    await update.effective_message.reply_text(
        "\n".join(lines), reply_markup=InlineKeyboardMarkup(buttons)
    )


@admins_only
async def draft_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send or Discard under a draft's summary; pressing either twice does nothing twice."""
    query = update.callback_query
    _, action, number = query.data.split(":")
    broadcast_id = int(number)
    t = await user_texts(update.effective_user, context)
    store = services(context).storage.broadcasts
    settings = services(context).settings
    if action == "discard":
        if not await store.discard_draft(broadcast_id, update.effective_user.id):
            await query.answer(t("post.gone"))
            return
        await audit(update, context, "post.discard", broadcast_id)
        await query.answer()
        title = t("post.summary_title_discarded", id=broadcast_id)
        await _close_draft(query.message, t, title, t("post.discarded", id=broadcast_id))
        return
    outcome = await store.confirm(broadcast_id, update.effective_user.id, settings.default_language)
    if outcome is ConfirmProblem.GONE:
        await query.answer(t("post.gone"))
        return
    if outcome is ConfirmProblem.NO_DEFAULT_TEXT:
        await query.answer(t("post.needs_default", default=settings.default_language))
        return
    await audit(update, context, "post.send", broadcast_id)
    services(context).broadcaster.wake()
    await query.answer()
    title = t("post.summary_title_sending", id=broadcast_id)
    outcome_text = t("post.started", id=broadcast_id, count=outcome)
    await _close_draft(query.message, t, title, outcome_text)


async def _close_draft(message: Message, t: Texts, title: str, outcome: str) -> None:
    """The draft's summary says what happened instead of "draft", and loses its buttons and
    the invitation to add blocks, so nothing can be pressed or sent again."""
    lines = message.text_html.split("\n")
    kept = [title, *(line for line in lines[1:] if line != t("post.more"))]
    await message.edit_text("\n".join(kept) + f"\n\n{outcome}", reply_markup=None)


async def _close_summary(message: Message, outcome: str) -> None:
    """Replace the message's buttons with what happened, so they cannot be pressed again."""
    await message.edit_text(f"{message.text_html}\n\n{outcome}", reply_markup=None)


@admins_only
async def broadcasts(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The latest broadcasts with their progress: counts, pace and time left."""
    t = await user_texts(update.effective_user, context)
    await audit(update, context, "broadcasts")
    recent = await services(context).storage.broadcasts.recent(RECENT)
    if not recent:
        await update.effective_message.reply_text(t("broadcasts.none"))
        return
    parts = [t("broadcasts.title"), *(summary_text(t, summary) for summary in recent)]
    await update.effective_message.reply_text("\n\n".join(parts))


@admins_only
async def cancel_broadcast(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop a running broadcast: what is pending is cancelled, nothing sent is sent again."""
    t = await user_texts(update.effective_user, context)
    args = context.args or []
    if len(args) != 1 or not args[0].lstrip("#").isdecimal() or len(args[0]) > 12:
        await update.effective_message.reply_text(t("broadcasts.cancel_usage"))
        return
    broadcast_id = int(args[0].lstrip("#"))
    await audit(update, context, "cancel_broadcast", broadcast_id)
    counts = await services(context).storage.broadcasts.cancel(broadcast_id)
    if counts is None:
        await update.effective_message.reply_text(t("broadcasts.not_running", id=broadcast_id))
        return
    services(context).broadcaster.wake()
    await update.effective_message.reply_text(
        t("broadcasts.cancelled", id=broadcast_id, count=counts.cancelled)
    )


@admins_only
async def paused_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Resume or cancel a post paused after a restore from a backup."""
    query = update.callback_query
    _, action, number = query.data.split(":")
    broadcast_id = int(number)
    t = await user_texts(update.effective_user, context)
    store = services(context).storage.broadcasts
    if action == "resume":
        if not await store.resume(broadcast_id):
            await query.answer(t("error.stale_button"))
            return
        await audit(update, context, "resume_broadcast", broadcast_id)
        outcome = t("news.resumed", id=broadcast_id)
    else:
        counts = await store.cancel(broadcast_id)
        if counts is None:
            await query.answer(t("error.stale_button"))
            return
        await audit(update, context, "cancel_broadcast", broadcast_id)
        outcome = t("broadcasts.cancelled", id=broadcast_id, count=counts.cancelled)
    services(context).broadcaster.wake()
    await query.answer()
    await _close_summary(query.message, outcome)


def register(application: Application) -> None:
    application.add_handler(
        MessageHandler(PRIVATE & ~filters.COMMAND, draft_message), group=DRAFT_GROUP
    )
    application.add_handler(CommandHandler("post", post, filters=PRIVATE))
    application.add_handler(CommandHandler("broadcasts", broadcasts, filters=PRIVATE))
    application.add_handler(CommandHandler("cancel_broadcast", cancel_broadcast, filters=PRIVATE))
    application.add_handler(
        CallbackQueryHandler(draft_button, pattern=r"^post:(send|discard):\d{1,12}$")
    )
    application.add_handler(
        CallbackQueryHandler(paused_button, pattern=r"^post:(resume|cancel):\d{1,12}$")
    )
