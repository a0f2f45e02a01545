"""A call for help gets the emergency contact first and fast, whatever else is going wrong.

Each test drives the real Application over HTTP against the Bot API emulator, with a real
fault: a throttled person, a locked or closed database, a slow Stripe, an edited message,
a voice note, a failing later handler, a 429 pause. The emergency reply must come within
`FAST` seconds in all of them (without the first responder they take 5-10 s or never come).
"""

import asyncio
import sqlite3
import time
from contextlib import closing

import pytest

from tests.conftest import EMERGENCY, EMERGENCY_RU
from tests.test_conversation import plain, say, visible, with_emergency_line
from tests.test_donations import giving_bot
from tgbot.broadcasts.limiter import OutboundLimiter, Priority
from tgbot.runtime.throttle import BURST
from tgbot.text.faq import default_faq

FAST = 1.0
"""Seconds within which the emergency reply must arrive."""
CLEAR = {
    "en": "my father wants to kill me",
    "ru": "помогите меня хотят убить",
    "de": "mein bruder will mich umbringen",
    "fr": "mon père veut me tuer",
    "es": "mi padre me quiere matar",
}


def emergency(language: str, key: str = "safety.reply") -> str:
    return plain(language, key, contact=EMERGENCY_RU if language == "ru" else EMERGENCY)


async def emergency_reply(api, user, text: str, *, language: str = "en", key="safety.reply"):
    """Send `text` and return the reply, which must be the emergency text within FAST s."""
    started = time.monotonic()
    api.send_message(user, text)
    expected = emergency(language, key)
    reply = await api.wait_for_message(
        user["id"], predicate=lambda m: m.text == expected, timeout=FAST + 4
    )
    assert time.monotonic() - started < FAST
    return reply


@pytest.mark.parametrize("language", list(CLEAR))
async def test_a_clear_call_for_help_gets_the_emergency_reply_alone(bot, language):
    user = bot.api.make_user(1, language_code=language)
    reply = await emergency_reply(bot.api, user, CLEAR[language], language=language)
    assert [b["callback_data"] for b in reply.buttons] == ["erase:"]
    await asyncio.sleep(0.3)
    assert len(bot.api.sent_messages(1)) == 1  # nothing after it
    assert await bot.storage.users.get(1) is None


async def test_possible_danger_gets_the_emergency_line_then_the_usual_answer(bot):
    user = bot.api.make_user(2, language_code="en")
    await emergency_reply(bot.api, user, "help", key="safety.line")
    follow_up = await bot.api.wait_for_message(2)  # the FAQ's answer or its topic buttons
    assert follow_up.buttons
    assert EMERGENCY not in follow_up.text


@pytest.mark.parametrize(
    ("language", "call", "offer"),
    [
        ("en", "help me", "How can I help?"),
        ("fr", "aidez-moi", "comment puis-je aider ?"),
        ("ru", "помоги", "как я могу помочь?"),
    ],
)
async def test_a_call_for_help_is_not_answered_with_an_appeal_for_money(bot, language, call, offer):
    """The FAQ hears the donate topic in both messages; only the offer of help gets it."""
    user = bot.api.make_user(5, language_code=language)
    await emergency_reply(bot.api, user, call, language=language, key="safety.line")
    follow_up = await bot.api.wait_for_message(5)
    assert follow_up.text == plain(language, "faq.fallback")
    answer = await say(bot, user, offer)
    assert answer.text == visible(default_faq().topic(language, "how_to_donate").answer)


async def test_a_throttled_person_still_gets_the_emergency_reply(bot):
    user = bot.api.make_user(3, language_code="de")
    for number in range(BURST * 2):
        bot.api.send_message(user, f"/help {number}")
    await bot.api.wait_for_message(
        3, predicate=lambda m: m.text == with_emergency_line("de", "error.slow_down")
    )
    await emergency_reply(bot.api, user, CLEAR["de"], language="de")


async def test_a_locked_database_does_not_hold_the_emergency_reply(bot):
    """The person's update needs a write (their client's language changed) while another
    connection holds the write lock for longer than the bot's busy timeout."""
    await bot.storage.users.set_subscribed(4, "en", True)
    user = bot.api.make_user(4, language_code="ru")
    with closing(sqlite3.connect(bot.services.settings.database_path, timeout=0)) as other:
        other.execute("BEGIN IMMEDIATE")
        await emergency_reply(bot.api, user, CLEAR["ru"], language="ru")
        other.execute("ROLLBACK")


@pytest.mark.logs_errors
async def test_a_database_that_fails_every_call_does_not_hold_the_emergency_line(bot):
    """ "help" is possible danger: the line comes first, then the later handlers fail on the
    database and the apology carries the line again."""
    user = bot.api.make_user(5, language_code="fr")
    await say(bot, user, "/start")
    await bot.storage.database.close()
    await emergency_reply(bot.api, user, "aidez-moi", language="fr", key="safety.line")
    apology = await bot.api.wait_for_message(5)
    assert apology.text == with_emergency_line("fr", "error.generic")


async def test_the_same_persons_slow_stripe_call_does_not_hold_the_emergency_reply(
    bot_api, stripe_fake, make_settings, stripe_settings
):
    async with giving_bot(bot_api, stripe_fake, make_settings(**stripe_settings)) as giving:
        user = bot_api.make_user(6, language_code="es")
        stripe_fake.set_latency(3)
        bot_api.send_message(user, "/donate 25 EUR")
        await asyncio.sleep(0.2)  # the payment link is being created at Stripe
        await emergency_reply(bot_api, user, CLEAR["es"], language="es")
        link = await bot_api.wait_for_message(6, timeout=10)
        assert link.buttons[0]["url"].startswith(giving.stripe.base_url)


async def test_an_edited_message_is_checked(bot):
    user = bot.api.make_user(7, language_code="en")
    await say(bot, user, "/start")
    sent = bot.api.send_message(user, "hello")
    await bot.api.wait_for_message(7)
    started = time.monotonic()
    edited = {**sent["message"], "text": CLEAR["en"]}
    bot.api.send_update({"edited_message": edited})
    reply = await bot.api.wait_for_message(7, timeout=FAST + 4)
    assert time.monotonic() - started < FAST
    assert reply.text == emergency("en")


async def test_a_voice_note_gets_the_emergency_line(bot):
    user = bot.api.make_user(8, language_code="ru")
    voice = {"file_id": "v1", "file_unique_id": "uv1", "duration": 4}
    started = time.monotonic()
    bot.api.send_update({"message": {"from": user, "voice": voice}})
    reply = await bot.api.wait_for_message(8, timeout=FAST + 4)
    assert time.monotonic() - started < FAST
    assert reply.text == emergency("ru", "safety.media")


async def test_a_photo_caption_is_checked(bot):
    user = bot.api.make_user(9, language_code="en")
    photo = [{"file_id": "p1", "file_unique_id": "up1", "width": 90, "height": 90}]
    bot.api.send_update({"message": {"from": user, "photo": photo, "caption": CLEAR["en"]}})
    assert (await bot.api.wait_for_message(9)).text == emergency("en")


async def test_an_inline_call_for_help_is_offered_the_emergency_card(bot):
    user = bot.api.make_user(10, language_code="de")
    bot.api.inline_query(user, CLEAR["de"])
    call = await bot.api.wait_for_call("answerInlineQuery")
    (card,) = call.params["results"]
    assert card["id"] == "emergency"
    sent = card["input_message_content"]["message_text"]
    assert visible(sent) == plain("de", "safety.inline_card", contact=EMERGENCY)


async def test_after_a_429_the_emergency_reply_goes_first():
    """Telegram asked for silence; when it ends, the urgent message is the first to go."""
    limiter, order = OutboundLimiter(rate=30), []

    def telegram(label: str):
        async def call() -> bool:
            order.append(label)
            return True

        return call

    def send(label: str, priority: Priority | None = None):
        return limiter.process_request(telegram(label), (), {}, "sendMessage", {}, priority)

    limiter.pause(0.3)
    normal = [asyncio.create_task(send(f"reply {n}")) for n in range(3)]
    await asyncio.sleep(0.05)  # the replies were waiting before the urgent message came
    await asyncio.gather(send("urgent", Priority.URGENT), *normal)
    assert order[0] == "urgent"


async def test_a_photo_with_an_ordinary_caption_is_told_what_the_bot_reads(bot):
    user = bot.api.make_user(11, language_code="en")
    photo = [{"file_id": "p2", "file_unique_id": "up2", "width": 90, "height": 90}]
    bot.api.send_update({"message": {"from": user, "photo": photo, "caption": "look at this"}})
    assert (await bot.api.wait_for_message(11)).text == emergency("en", "safety.media")


async def test_the_emergency_reply_is_sent_again_after_a_server_error(bot, caplog):
    """Replies are not retried, but this one above all must go out."""
    user = bot.api.make_user(12, language_code="en")
    await say(bot, user, "/start")
    bot.api.fail_next("sendMessage", 502, count=2)
    await emergency_reply(bot.api, user, CLEAR["en"])
    assert "the emergency reply failed (NetworkError); trying again" in caplog.text
