"""Messages through the fake Bot API: what it records, edits and refuses, as Telegram does.

Sent with python-telegram-bot's own ``Bot``, so each refusal is checked against the
exception PTB raises for it.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest

from playground.telegram import FakeBotAPI
from playground.telegram.html import utf16_len
from tests.bot_api_helpers import USER_ID, keyboard

# fixtures: pytest looks them up by name; `as` tells ruff these imports are meant
from tests.bot_api_helpers import api as api
from tests.bot_api_helpers import bot as bot
from tests.bot_api_helpers import user as user

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


async def test_bot_sends_html_and_the_fake_records_it(
    api: FakeBotAPI, bot: Bot, user: dict[str, Any]
) -> None:
    assert bot.username == "AppealBot"
    markup = keyboard(
        InlineKeyboardButton("Donate", url="https://example.org/donate"),
        InlineKeyboardButton("Later", callback_data="later"),
    )
    sent = await bot.send_message(
        USER_ID,
        '<b>Hi</b> &amp; <a href="https://example.org">welcome</a> 😀',
        parse_mode="HTML",
        reply_markup=markup,
    )
    assert sent.text == "Hi & welcome 😀"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [
        ("bold", 0, 2),
        ("text_link", 5, 7),
    ]
    assert sent.reply_markup == markup
    assert sent.from_user is not None
    assert sent.from_user.id == api.bot_id

    await bot.send_message(USER_ID, "second")
    first, second = await api.wait_for_message(USER_ID), await api.wait_for_message(USER_ID)
    assert (first.text, first.html, first.parse_mode) == ("Hi & welcome 😀", sent.text_html, "HTML")
    assert [button["text"] for button in first.buttons] == ["Donate", "Later"]
    assert (second.text, second.parse_mode, second.reply_markup) == ("second", None, None)
    assert first.message_id < second.message_id
    assert api.violations == []


@pytest.mark.parametrize(
    ("kwargs", "description"),
    [
        ({"text": "x" * 4097}, "message is too long"),
        ({"text": "😀" * 2049}, "message is too long"),  # 4098 UTF-16 code units
        ({"text": "<b> </b>", "parse_mode": "HTML"}, "message text is empty"),
        (
            {"text": "<b>bold</i>", "parse_mode": "HTML"},
            'can\'t parse entities: Unmatched end tag at byte offset 7, expected "</b>", '
            'found "</i>"',
        ),
        (
            {"text": "<div>x</div>", "parse_mode": "HTML"},
            'can\'t parse entities: Unsupported start tag "div" at byte offset 0',
        ),
        ({"text": "x", "parse_mode": "Textile"}, "unsupported parse_mode"),
        (
            {
                "text": "x",
                "reply_markup": keyboard(InlineKeyboardButton("b", callback_data="d" * 65)),
            },
            "BUTTON_DATA_INVALID",
        ),
        (
            {
                "text": "x",
                "reply_markup": keyboard(InlineKeyboardButton("b", callback_data="ж" * 33)),
            },
            "BUTTON_DATA_INVALID",  # 66 bytes in UTF-8
        ),
        (
            {"text": "x", "reply_markup": keyboard(InlineKeyboardButton("b", url="example"))},
            "inline keyboard button URL 'example' is invalid: Wrong HTTP URL",
        ),
        (
            {"text": "x", "reply_markup": keyboard(InlineKeyboardButton("plain"))},
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
        ),
        (
            {
                "text": "x",
                "reply_markup": InlineKeyboardMarkup(
                    [[InlineKeyboardButton(str(i), callback_data=str(i))] for i in range(101)]
                ),
            },
            "reply markup is too long",
        ),
    ],
)
async def test_send_message_rejected_like_telegram(
    api: FakeBotAPI, bot: Bot, user: dict[str, Any], kwargs: dict[str, Any], description: str
) -> None:
    with pytest.raises(BadRequest):
        await bot.send_message(USER_ID, **kwargs)
    assert [call.description for call in api.violations] == [f"Bad Request: {description}"]
    assert api.sent_messages() == []


async def test_limits_are_counted_in_utf16_after_parsing(
    api: FakeBotAPI, bot: Bot, user: dict[str, Any]
) -> None:
    emoji = await bot.send_message(USER_ID, "😀" * 2048)  # exactly 4096 UTF-16 code units
    markup_only = await bot.send_message(USER_ID, "<i>" + "a" * 4096 + "</i>", parse_mode="HTML")
    trimmed = await bot.send_message(USER_ID, "  <b>padded</b>\n", parse_mode="HTML")
    exact_data = keyboard(InlineKeyboardButton("ok", callback_data="é" * 32))  # 64 bytes
    await bot.send_message(USER_ID, "buttons", reply_markup=exact_data)
    assert utf16_len(emoji.text) == 4096
    assert len(markup_only.text) == 4096
    assert (trimmed.text, trimmed.entities[0].length) == ("padded", 6)
    assert api.violations == []


async def test_edit_message_rules(api: FakeBotAPI, bot: Bot, user: dict[str, Any]) -> None:
    buttons = keyboard(InlineKeyboardButton("A", callback_data="a"))
    sent = await bot.send_message(USER_ID, "v1", reply_markup=buttons)
    edited = await bot.edit_message_text("<i>v2</i>", USER_ID, sent.message_id, parse_mode="HTML")
    assert not isinstance(edited, bool)
    assert edited.text == "v2"
    assert api.message(USER_ID, sent.message_id)["text"] == "v2"
    assert "reply_markup" not in api.message(USER_ID, sent.message_id)  # dropped, as on Telegram

    with pytest.raises(BadRequest, match=r"(?i)Message is not modified"):
        await bot.edit_message_text("<i>v2</i>", USER_ID, sent.message_id, parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)Message to edit not found"):
        await bot.edit_message_text("v3", USER_ID, 9999)
    assert await bot.delete_message(USER_ID, sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)Message to delete not found"):
        await bot.delete_message(USER_ID, sent.message_id)

    methods = [message.method for message in api.sent_messages(USER_ID)]
    assert methods == ["sendMessage", "editMessageText"]
    assert len(api.violations) == 3


async def test_photo_upload_and_caption_limit(
    api: FakeBotAPI, bot: Bot, user: dict[str, Any]
) -> None:
    photo = await bot.send_photo(
        USER_ID, io.BytesIO(b"\x89PNG fake"), caption="Привет <b>мир</b>", parse_mode="HTML"
    )
    assert photo.caption == "Привет мир"
    assert api.files[photo.photo[-1].file_id].data == b"\x89PNG fake"
    with pytest.raises(BadRequest, match=r"(?i)Message caption is too long"):
        await bot.send_photo(USER_ID, photo.photo[-1].file_id, caption="c" * 1025)
    sent = api.sent_messages(USER_ID)
    assert [(message.method, message.text) for message in sent] == [("sendPhoto", "Привет мир")]


async def test_set_my_commands_validation_and_storage(api: FakeBotAPI, bot: Bot) -> None:
    api.make_chat(-100123, title="Admins")
    assert await bot.set_my_commands([("start", "Start"), ("help", "Help")])
    assert await bot.set_my_commands([("start", "Начать")], language_code="ru")
    admin_scope = {"type": "chat", "chat_id": -100123}
    assert await bot.set_my_commands([("stats", "Stats")], scope=admin_scope)

    assert api.commands[("default", "")] == [
        {"command": "start", "description": "Start"},
        {"command": "help", "description": "Help"},
    ]
    assert api.commands[("default", "ru")][0]["description"] == "Начать"
    assert api.commands[("chat:-100123", "")] == [{"command": "stats", "description": "Stats"}]
    ru_commands = await bot.get_my_commands(language_code="ru")
    assert [command.command for command in ru_commands] == ["start"]
    assert await bot.get_my_commands(language_code="de") == ()

    bad_cases = [
        ({"commands": [("Start", "Upper case")]}, "BOT_COMMAND_INVALID"),
        ({"commands": [("s" * 33, "Too long")]}, "BOT_COMMAND_INVALID"),
        ({"commands": [("/start", "Slash")]}, "BOT_COMMAND_INVALID"),
        ({"commands": [("start", "")]}, "BOT_COMMAND_DESCRIPTION_INVALID"),
        ({"commands": [("start", "d" * 257)]}, "BOT_COMMAND_DESCRIPTION_INVALID"),
        ({"commands": [(f"c{i}", "d") for i in range(101)]}, "BOT_COMMANDS_TOO_MUCH"),
        ({"commands": [("start", "d")], "language_code": "eng"}, "invalid language code"),
        ({"commands": [("start", "d")], "scope": {"type": "chat", "chat_id": 5}}, "chat not found"),
    ]
    for kwargs, description in bad_cases:
        with pytest.raises(BadRequest):
            await bot.set_my_commands(**kwargs)
        assert description in api.violations[-1].description
    assert len(api.violations) == len(bad_cases)

    assert await bot.delete_my_commands(language_code="ru")
    assert ("default", "ru") not in api.commands
    assert await bot.set_my_description("Supports the appeal", language_code="en")
    assert api.descriptions["en"] == "Supports the appeal"
    with pytest.raises(BadRequest):
        await bot.set_my_short_description("s" * 121)


async def test_wait_for_message_timeout_explains_what_arrived(
    api: FakeBotAPI, bot: Bot, user: dict[str, Any]
) -> None:
    await bot.send_message(USER_ID, "only message")
    assert (await api.wait_for_message(USER_ID)).text == "only message"
    with pytest.raises(AssertionError) as missing:
        await api.wait_for_message(USER_ID, timeout=0.1)
    assert "* sendMessage: 'only message'" in str(missing.value)
    matching = api.wait_for_message(USER_ID, timeout=0.1, predicate=lambda m: m.text == "x")
    with pytest.raises(AssertionError):
        await matching
    call = await api.wait_for_call("sendMessage")
    assert call.params["text"] == "only message"
