"""After "Other amount" the bot waits for an amount until it gets one or the person moves on.

Words instead of digits get a request for digits with an example in the gift's currency; a
question gets its answer; Cancel, a command or the menu end the wait.
"""

from tests.conftest import running_bot
from tests.test_conversation import answer, button_data, plain, press, say
from tgbot.payments.money import Money
from tgbot.text.i18n import texts

COST = "how much does it cost to evacuate one person?"


async def waiting_for_amount(bot, user):
    offer = await say(bot, user, "/donate")
    await press(bot, user, offer, "don:other:once:usd")
    prompt = await bot.api.wait_for_message(user["id"])
    assert prompt.text == plain("en", "donate.other_prompt", currency="USD")
    assert button_data(prompt) == ["don:cancel"]
    return prompt


def asks_for_digits(reply) -> bool:
    example = texts("en").money(Money.from_major(10, "usd"))
    return reply.text == plain("en", "donate.digits_please", example=example)


async def test_words_get_a_request_for_digits_and_the_wait_goes_on(
    bot_api, stripe_fake, make_settings, stripe_settings
):
    async with running_bot(bot_api, make_settings(**stripe_settings)) as bot:
        user = bot_api.make_user(610, language_code="en")
        await waiting_for_amount(bot, user)
        assert asks_for_digits(await say(bot, user, "twenty"))
        link = await say(bot, user, "20")
        assert link.text == plain("en", "donate.link", amount=Money(2000, "usd"))
    assert len(stripe_fake.sessions) == 1


async def test_a_question_is_answered_while_the_wait_goes_on(
    bot_api, stripe_fake, make_settings, stripe_settings
):
    async with running_bot(bot_api, make_settings(**stripe_settings)) as bot:
        user = bot_api.make_user(611, language_code="en")
        await waiting_for_amount(bot, user)
        assert (await say(bot, user, COST)).text == answer("en", "cost")
        link = await say(bot, user, "25")
        assert link.text == plain("en", "donate.link", amount=Money(2500, "usd"))


async def test_cancel_a_command_or_the_menu_end_the_wait(
    bot_api, stripe_fake, make_settings, stripe_settings
):
    async with running_bot(bot_api, make_settings(**stripe_settings)) as bot:
        user = bot_api.make_user(612, language_code="en")
        prompt = await waiting_for_amount(bot, user)
        await press(bot, user, prompt, "don:cancel")
        cancelled = await bot_api.wait_for_message(user["id"])  # the prompt, edited
        assert cancelled.text == plain("en", "donate.wait_cancelled")
        assert cancelled.buttons == []
        assert not asks_for_digits(await say(bot, user, "thirty"))

        await waiting_for_amount(bot, user)
        await say(bot, user, "/help")
        assert not asks_for_digits(await say(bot, user, "thirty"))

        await waiting_for_amount(bot, user)
        menu = await say(bot, user, "/start")
        await press(bot, user, menu, "menu:about")
        await bot_api.wait_for_message(user["id"])
        assert not asks_for_digits(await say(bot, user, "thirty"))
    assert stripe_fake.sessions == {}
