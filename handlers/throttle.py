"""Runs before every feature: someone flooding the bot is told once to slow down, then
ignored until they do. Admins are never throttled (ADMIN_IDS is checked on every update).
A call for help was answered before this (`handlers.safety`), and "slow down" carries the
emergency line all the same: a person in panic sends many messages."""

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, ContextTypes, TypeHandler

from handlers.common import remembered_texts
from handlers.safety import emergency_line
from tgbot.runtime.throttle import Verdict
from tgbot.services import services

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
        t = remembered_texts(user, context)
        if update.callback_query is not None:
            await update.callback_query.answer(t("error.slow_down"))
        elif update.effective_message is not None and update.effective_chat.type == "private":
            await update.effective_message.reply_text(
                f"{t('error.slow_down')}\n\n{emergency_line(t, context)}"
            )
    raise ApplicationHandlerStop


def register(application: Application) -> None:
    application.add_handler(TypeHandler(Update, throttle), group=THROTTLE_GROUP)
