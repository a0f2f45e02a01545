"""Odd and hostile input: each gets a sensible answer or is ignored, and nothing crashes."""

import logging

import pytest
from telegram.constants import MessageLimit

from tests.conftest import EMERGENCY_RU
from tests.test_conversation import button_data, plain, say, with_emergency_line
from tgbot.text.i18n import texts

GROUP = {"id": -1001234, "type": "supergroup", "title": "Supporters"}
ODD_TEXTS = [
    "x" * MessageLimit.MAX_TEXT_LENGTH,
    "🏳️‍🌈" * 500,
    "مرحبا كيف يمكنني المساعدة",  # right-to-left
    "\u200b\u200d\u2060\ufeff",  # only zero-width characters
    "\x00\x01\x1b[31m bell\x07",
    "<script>alert(1)</script> & &amp; <b>",
    "'; DROP TABLE users; --",
    "   ",
    "%s %d {0} {name}",
]
NON_TEXT = {
    "sticker": {"file_id": "s1", "file_unique_id": "u1", "type": "regular", "width": 512,
                "height": 512, "is_animated": False, "is_video": False},
    "photo": [{"file_id": "p1", "file_unique_id": "u2", "width": 90, "height": 90}],
    "voice": {"file_id": "v1", "file_unique_id": "u3", "duration": 2},
    "location": {"latitude": 43.3, "longitude": 45.7},
    "contact": {"phone_number": "+10000000000", "first_name": "Someone"},
}  # fmt: skip


@pytest.mark.parametrize("text", ODD_TEXTS)
async def test_odd_text_gets_an_answer(bot, text):
    user = bot.api.make_user(20, language_code="en")
    reply = await say(bot, user, text)
    assert reply.text  # fallback, an answer or the emergency contact: never silence
    assert await bot.storage.users.get(20) is None


@pytest.mark.parametrize("kind", NON_TEXT)
async def test_non_text_messages_are_told_what_the_bot_reads_with_the_emergency_line(bot, kind):
    """A call for help may come as a voice note: it gets the emergency contact too."""
    user = bot.api.make_user(21, language_code="ru")
    bot.api.send_update({"message": {"from": user, kind: NON_TEXT[kind]}})
    reply = await bot.api.wait_for_message(21)
    assert reply.text == plain("ru", "safety.media", contact=EMERGENCY_RU)


async def test_unknown_command_is_answered(bot):
    user = bot.api.make_user(22, language_code="de")
    assert (await say(bot, user, "/frobnicate now")).text == plain("de", "error.unknown_command")


async def test_command_with_this_bots_name_works(bot):
    user = bot.api.make_user(23, language_code="en")
    reply = await say(bot, user, f"/start@{bot.api.username}")
    assert reply.text == plain("en", "start.greeting")
    reply = await say(bot, user, "/start@SomeOtherBot")
    assert reply.text == plain("en", "error.unknown_command")


async def test_edited_messages_get_no_second_answer(bot):
    user = bot.api.make_user(24, language_code="en")
    update = bot.api.send_message(user, "what is happening in chechnya?")
    await bot.api.wait_for_message(24)
    edited = dict(
        update["message"], text="who runs the appeal?", edit_date=update["message"]["date"]
    )
    bot.api.send_update({"edited_message": edited})
    assert (await say(bot, user, "/help")).text == plain("en", "help.text")


async def test_in_groups_the_bot_is_quiet_except_for_its_commands(bot):
    user = bot.api.make_user(25, language_code="fr")
    bot.api.send_message(user, "how much does it cost?", chat=GROUP)
    bot.api.send_message(user, "/frobnicate", chat=GROUP)
    bot.api.send_message(user, "/start@SomeOtherBot", chat=GROUP)
    bot.api.send_message(user, f"/start@{bot.api.username}", chat=GROUP)
    reply = await bot.api.wait_for_message(GROUP["id"])
    assert reply.text == plain("fr", "group.private_only")
    assert reply.buttons == [
        {"text": texts("fr")("group.open_button"), "url": f"https://t.me/{bot.api.username}"}
    ]
    assert len(bot.api.sent_messages(GROUP["id"])) == 1


async def test_channel_posts_are_ignored(bot):
    channel = {"id": -1009999, "type": "channel", "title": "News"}
    bot.api.send_update({"channel_post": {"chat": channel, "text": "/start"}})
    user = bot.api.make_user(26, language_code="en")
    assert (await say(bot, user, "/help")).text == plain("en", "help.text")
    assert bot.api.sent_messages(channel["id"]) == []


@pytest.mark.parametrize(
    "data", ["menu:nothing", "lang:xx", "faq:no_such_topic", "forget:maybe", "garbage", "💥" * 16]
)
async def test_forged_or_stale_buttons_get_a_notice(bot, data):
    user = bot.api.make_user(27, language_code="es")
    menu = await say(bot, user, "/start")
    bot.api.press_button(user, menu, data, check_button=False)
    call = await bot.api.wait_for_call("answerCallbackQuery")
    assert call.ok
    assert call.params["text"] == texts("es")("error.stale_button")
    assert await bot.storage.users.get(27) is None


@pytest.mark.logs_errors
async def test_a_failing_telegram_call_is_logged_without_text_and_the_user_told(
    bot, production_logging
):
    user = bot.api.make_user(28, language_code="en")
    bot.api.fail_next("sendMessage", 400, "Bad Request: something unexpected")
    bot.api.send_message(user, "what does the money pay for?")
    notice = await bot.api.wait_for_message(28)
    assert notice.text == with_emergency_line("en", "error.generic")
    errors = [r for r in production_logging.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "BadRequest" in errors[0].getMessage()
    assert "money" not in production_logging.text


async def test_menu_buttons_are_ordered_and_use_short_callback_data(bot):
    user = bot.api.make_user(29, language_code="en")
    menu = await say(bot, user, "/start")
    assert all(len(data.encode()) <= 64 for data in button_data(menu))


async def test_buttons_without_an_accessible_message_get_a_notice(bot):
    user = bot.api.make_user(30, language_code="fr")
    bot.api.send_update(
        {"callback_query": {"from": user, "inline_message_id": "AAA", "chat_instance": "1",
                            "data": "menu:about"}}
    )  # fmt: skip
    call = await bot.api.wait_for_call("answerCallbackQuery")
    assert call.params["text"] == texts("fr")("error.stale_button")
    old = {"chat": {"id": 30, "type": "private"}, "message_id": 5, "date": 0}
    bot.api.send_update(
        {"callback_query": {"from": user, "message": old, "chat_instance": "1", "data": "faq:cost"}}
    )
    call = await bot.api.wait_for_call("answerCallbackQuery")
    assert call.params["text"] == texts("fr")("error.stale_button")
    assert bot.api.sent_messages(30) == []


@pytest.mark.logs_errors
async def test_the_user_hears_of_a_failure_even_when_the_database_is_gone(bot, caplog):
    caplog.set_level(logging.WARNING)
    user = bot.api.make_user(31, language_code="de")
    await bot.storage.close()
    bot.api.send_message(user, "/start")
    notice = await bot.api.wait_for_message(31)
    assert notice.text == with_emergency_line("de", "error.generic")
    (error,) = [
        r for r in caplog.records if r.levelno == logging.ERROR and r.name == "handlers.errors"
    ]
    assert "unhandled" in error.getMessage()
