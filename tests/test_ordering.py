"""Updates of different people run concurrently; one person's run in the order sent."""

import asyncio

from telegram import Update

from tests.test_conversation import plain, say
from tgbot.runtime.ordering import PerUserOrder


def update_from(user_id: int, update_id: int) -> Update:
    user = {"id": user_id, "is_bot": False, "first_name": "T"}
    message = {"message_id": update_id, "date": 0, "chat": {"id": user_id, "type": "private"}}
    return Update.de_json({"update_id": update_id, "message": {**message, "from": user}}, None)


async def test_another_user_is_not_held_up_while_one_reply_hangs():
    processor = PerUserOrder()
    release, events = asyncio.Event(), []

    async def slow() -> None:
        await release.wait()
        events.append("A1")

    async def quick(name: str) -> None:
        events.append(name)

    first = asyncio.create_task(processor.process_update(update_from(1, 1), slow()))
    second = asyncio.create_task(processor.process_update(update_from(1, 2), quick("A2")))
    await processor.process_update(update_from(2, 3), quick("B1"))
    assert events == ["B1"]  # B ran while A's first update was still hanging ...
    release.set()
    await asyncio.gather(first, second)
    assert events == ["B1", "A1", "A2"]  # ... and A's second waited for A's first


async def test_a_language_switch_applies_to_the_very_next_message(bot):
    bot.api.set_latency(0.05)  # widen the window in which a race would show
    user = bot.api.make_user(50, language_code="en")
    bot.api.send_message(user, "/language ru")
    bot.api.send_message(user, "/help")
    assert (await bot.api.wait_for_message(50)).text == plain("ru", "language.changed")
    assert (await bot.api.wait_for_message(50)).text == plain("ru", "help.text")
    assert (await say(bot, user, "/help")).text == plain("ru", "help.text")
