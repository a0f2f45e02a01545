"""A bot started on a restored backup pauses the news it was sending and asks an admin.

The backup cannot say who got a post after the copy was made: sending the rest blindly could
give people a second copy, so an admin resumes (accepting that) or cancels.
"""

import asyncio
from collections import Counter

from tests.conftest import ADMIN_ID, running_bot
from tests.test_conversation import plain
from tgbot.storage import Storage
from tgbot.storage.backup import backup
from tgbot.storage.broadcasts import Status

SUBSCRIBERS = range(600, 610)


async def restored_with_a_post_in_progress(tmp_path) -> tuple:
    live, copy = tmp_path / "live.sqlite3", tmp_path / "restored.sqlite3"
    storage = await Storage.open(str(live))
    for user_id in SUBSCRIBERS:
        await storage.users.set_subscribed(user_id, "en", True)
    draft = await storage.broadcasts.start_draft(ADMIN_ID)
    await storage.broadcasts.add_to_draft(draft, {"en": "News from the appeal"}, None)
    assert await storage.broadcasts.confirm(draft, ADMIN_ID, "en") == len(SUBSCRIBERS)
    await storage.close()
    backup(live, copy)
    return copy, draft


def news_copies(api) -> Counter:
    return Counter(m.chat_id for m in api.sent_messages() if m.chat_id in SUBSCRIBERS)


async def test_a_restored_bot_pauses_its_news_until_an_admin_resumes_it(
    bot_api, make_settings, tmp_path
):
    copy, draft = await restored_with_a_post_in_progress(tmp_path)
    admin = bot_api.make_user(ADMIN_ID, language_code="en")
    for user_id in (ADMIN_ID, *SUBSCRIBERS):
        bot_api.open_private_chat(bot_api.make_user(user_id, language_code="en"))
    async with running_bot(bot_api, make_settings(database_path=copy)) as bot:
        ask = await bot_api.wait_for_message(ADMIN_ID)
        assert ask.text == plain("en", "news.paused_after_restore", id=draft)
        await asyncio.sleep(0.5)
        assert news_copies(bot_api) == {}  # nothing goes out on its own
        bot_api.press_button(admin, ask, f"post:resume:{draft}")
        for _ in range(100):
            if (await bot.storage.broadcasts.recent(1))[0].status == Status.DONE:
                break
            await asyncio.sleep(0.1)
    assert news_copies(bot_api) == dict.fromkeys(SUBSCRIBERS, 1)


async def test_a_paused_post_can_be_cancelled_instead(bot_api, make_settings, tmp_path):
    copy, draft = await restored_with_a_post_in_progress(tmp_path)
    admin = bot_api.make_user(ADMIN_ID, language_code="en")
    bot_api.open_private_chat(admin)
    async with running_bot(bot_api, make_settings(database_path=copy)) as bot:
        ask = await bot_api.wait_for_message(ADMIN_ID)
        bot_api.press_button(admin, ask, f"post:cancel:{draft}")
        await bot_api.wait_for_call("editMessageText")
        (summary,) = await bot.storage.broadcasts.recent(1)
    assert summary.status == Status.CANCELLED
    assert news_copies(bot_api) == {}
