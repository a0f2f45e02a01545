"""Erasing the chat: one tap on the emergency reply, one confirmation, and the chat is gone.

Message ids in a bot's private chats come from one counter per bot account, so the test has
another person write in between: ids of one chat are not consecutive, and guessing them by
walking back from the last id would delete nothing or fail.
"""

import gc

from tests.test_conversation import plain, say
from tests.test_donations import deliver, giving, start_monthly  # noqa: F401 (fixture)

CALL_FOR_HELP = "my brother says he will kill me"


async def call_for_help_and_erase(running, user, *, answer: str = "erase:yes"):
    """Write a call for help, tap Erase, confirm; returns every message of the chat before."""
    other = running.api.make_user(user["id"] + 1, language_code="en")
    sent = running.api.send_message(user, CALL_FOR_HELP)["message"]
    reply = await running.api.wait_for_message(user["id"])
    await say(running, other, "/help")  # ids in between belong to another chat
    running.api.press_button(user, reply, "erase:")
    confirmation = await running.api.wait_for_message(user["id"])
    running.api.press_button(user, confirmation, answer)
    before = [sent["message_id"], reply.message_id, confirmation.message_id]
    return before, confirmation


async def give_monthly(running, user) -> None:
    """A monthly gift of 25 EUR, paid and thanked for."""
    session = await start_monthly(running, user, amount=2500)
    for event in running.stripe.pay_subscription(session["id"]).values():
        await deliver(running, event)
    await running.api.wait_for_message(user["id"])  # the thank-you


async def test_one_tap_and_one_confirmation_erase_the_chat_and_forget_the_person(bot):
    user = bot.api.make_user(30, language_code="en")
    subscribed = await say(bot, user, "/subscribe")
    before, confirmation = await call_for_help_and_erase(bot, user)
    assert confirmation.text == plain("en", "erase.confirm")
    done = await bot.api.wait_for_message(30)
    assert done.text == plain("en", "erase.done")
    for message_id in [*before, subscribed.message_id]:
        assert bot.api.message(30, message_id) is None, message_id
    assert [m["message_id"] for m in bot.api.history(30)] == [done.message_id]
    assert bot.api.history(31)  # the other person's chat is untouched
    assert await bot.storage.users.get(30) is None
    assert bot.services.languages.get(30) is None
    assert bot.services.recent.take(30) == []


async def test_erase_can_be_called_off(bot):
    user = bot.api.make_user(32, language_code="ru")
    before, _ = await call_for_help_and_erase(bot, user, answer="erase:no")
    cancelled = await bot.api.wait_for_message(32)
    assert cancelled.text == plain("ru", "erase.cancelled")
    assert all(bot.api.message(32, message_id) for message_id in before[:2])


async def test_slash_erase_works_at_any_time(bot):
    user = bot.api.make_user(34, language_code="de")
    greeting = await say(bot, user, "/start")
    confirmation = await say(bot, user, "/erase")
    bot.api.press_button(user, confirmation, "erase:yes")
    assert (await bot.api.wait_for_message(34)).text == plain("de", "erase.done")
    assert bot.api.message(34, greeting.message_id) is None


async def test_erasing_offers_to_cancel_a_monthly_gift_and_does(giving):  # noqa: F811
    user = giving.api.make_user(36, language_code="en")
    await give_monthly(giving, user)
    _, confirmation = await call_for_help_and_erase(giving, user, answer="erase:gift")
    assert plain("en", "erase.monthly") in confirmation.text
    assert (await giving.api.wait_for_message(36)).text == plain("en", "erase.done")
    (subscription,) = giving.stripe.subscriptions.values()
    assert subscription["status"] == "canceled"
    assert await giving.storage.donations.monthly_gifts(36) == []


async def test_no_words_of_a_message_stay_in_memory_after_the_reply(bot, production_logging):
    """Neither a call for help nor a question leaves its text reachable in the bot.

    Everything the emulator keeps (it plays Telegram, which does store the chat) is set
    aside; anything else that still refers to the words is a leak.
    """
    user = bot.api.make_user(38, language_code="en")
    for text in ("zqxwv they will kill me", "how much does it cost zqxwv", "zqxwv"):
        bot.api.send_message(user, text)
        await bot.api.wait_for_message(38)
    await say(bot, user, "/help")  # the last update is done with
    del text
    gc.collect()
    telegram = reachable_from(bot.api)
    holders = [
        type(holder).__name__
        for holder in gc.get_objects()
        if id(holder) not in telegram and any(mentions(ref) for ref in gc.get_referents(holder))
    ]
    assert holders == []


def mentions(value: object) -> bool:
    if isinstance(value, str):
        return "zqxwv" in value
    return isinstance(value, bytes | bytearray) and b"zqxwv" in value


def reachable_from(api) -> set[int]:
    """Ids of the emulator's own data: its containers and objects, not the whole process."""
    seen: set[int] = set()
    stack: list[object] = [api, vars(api)]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        module = type(item).__module__ or ""
        if isinstance(item, dict | list | tuple | set | frozenset) or module.startswith(
            ("playground.", "collections")
        ):
            stack.extend(gc.get_referents(item))
    return seen


async def test_erasing_but_keeping_a_monthly_gift_leaves_it_stoppable(giving):  # noqa: F811
    """Cutting the link would leave a charge nobody could stop: it stays linked."""
    user = giving.api.make_user(40, language_code="en")
    await give_monthly(giving, user)
    await call_for_help_and_erase(giving, user, answer="erase:yes")
    assert (await giving.api.wait_for_message(40)).text == plain("en", "erase.done")
    (subscription,) = giving.stripe.subscriptions.values()
    assert subscription["status"] == "active"
    assert len(await giving.storage.donations.monthly_gifts(40)) == 1
