"""Whether a person can be messaged: Telegram reports blocking and unblocking the bot.

A subscriber who blocked the bot gets no news (sending would only earn 403 answers) until
they unblock it or write to it again; their subscription itself is kept.
"""

from telegram import ChatMember, Update
from telegram.constants import ChatType
from telegram.ext import Application, ChatMemberHandler, ContextTypes

from tgbot.services import services


async def membership_changed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    change = update.my_chat_member
    if change.chat.type != ChatType.PRIVATE:
        return
    blocked = change.new_chat_member.status == ChatMember.BANNED
    await services(context).storage.users.set_blocked(change.from_user.id, blocked)


def register(application: Application) -> None:
    application.add_handler(ChatMemberHandler(membership_changed, ChatMemberHandler.MY_CHAT_MEMBER))
