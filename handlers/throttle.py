"""Runs before every feature: someone flooding the bot is told once to slow down, then
ignored until they do. Admins are never throttled (ADMIN_IDS is checked on every update)."""

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, ContextTypes, TypeHandler

from handlers.common import client_language
from tgbot.i18n import texts
from tgbot.services import services
from tgbot.throttle import Verdict

THROTTLE_GROUP = -3
"""Before the news drafts (-2) and the stale-button check (-1)."""


async def throttle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user = update.effective_user
    if user is None or user.id in services(context).settings.admin_ids:
        return
    verdict = services(context).throttle.check(user.id)
    if verdict is Verdict.ALLOW:
        return
    if verdict is Verdict.WARN:
        # from memory only: a flood must not cost a database read per update
        t = texts(client_language(user, services(context).settings))
        if update.callback_query is not None:
            await update.callback_query.answer(t("error.slow_down"))
        elif update.effective_message is not None and update.effective_chat.type == "private":
            await update.effective_message.reply_text(t("error.slow_down"))
    raise ApplicationHandlerStop


def register(application: Application) -> None:
    application.add_handler(TypeHandler(Update, throttle), group=THROTTLE_GROUP)
