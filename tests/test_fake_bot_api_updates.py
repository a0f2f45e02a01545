"""Tests of the fake Bot API server itself: limits, error shapes and the HTML validator.

The fake is exercised both with raw HTTP (httpx) and with python-telegram-bot's own ``Bot`` and
``Application``, so the error shapes are checked against the exceptions PTB raises for them.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import html
import io
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Conflict, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes

from playground.telegram import FakeBotAPI, SentMessage
from playground.telegram.html import TelegramHTMLError, parse_html, utf16_len

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

USER_ID = 1001


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as fake:
        yield fake


@pytest.fixture
async def http(api: FakeBotAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"{api.base_url}{api.token}/") as client:
        yield client


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    async with Bot(api.token, base_url=api.base_url) as telegram_bot:
        yield telegram_bot


@pytest.fixture
def user(api: FakeBotAPI) -> dict[str, Any]:
    """A user who has written to the bot, so their private chat is known."""
    person = api.make_user(USER_ID, first_name="Ann")
    api.send_message(person, "hi")
    return person


def keyboard(*buttons: InlineKeyboardButton) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([list(buttons)])


def seconds(value: float | dtm.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dtm.timedelta) else value


# -- raw HTTP: routing, auth, parameter encodings, getUpdates ---------------------------------


async def test_wrong_token_and_unknown_method_use_telegram_error_shape(
    api: FakeBotAPI, http: httpx.AsyncClient
) -> None:
    wrong = await http.get(f"{api.root_url}/bot999:nope/getMe")
    assert wrong.status_code == 401
    assert wrong.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}

    unknown = await http.post("noSuchMethod")
    assert unknown.status_code == 404
    assert unknown.json() == {
        "ok": False,
        "error_code": 404,
        "description": "Not Found: method not found",
    }

    me = (await http.get("GETME")).json()  # method names are case-insensitive
    assert me["ok"] is True
    assert me["result"]["id"] == 123456
    assert me["result"]["username"] == "AppealBot"
    assert me["result"]["can_read_all_group_messages"] is False

    unimplemented = await http.post("sendSticker", data={"chat_id": 1, "sticker": "x"})
    assert unimplemented.status_code == 400
    assert "does not implement sendSticker" in unimplemented.json()["description"]
    assert [call.status for call in api.violations] == [401, 404, 400]


async def test_parameters_arrive_as_query_form_multipart_or_json(
    api: FakeBotAPI, http: httpx.AsyncClient, user: dict[str, Any]
) -> None:
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
    by_query = await http.get("sendMessage", params={"chat_id": USER_ID, "text": "q"})
    by_form = await http.post(
        "sendMessage",
        data={"chat_id": str(USER_ID), "text": "f", "reply_markup": json.dumps(markup)},
    )
    by_multipart = await http.post(
        "sendMessage", data={"chat_id": str(USER_ID), "text": "м"}, files={"x": ("a", b"1")}
    )
    by_json = await http.post(
        "sendMessage", json={"chat_id": USER_ID, "text": "j", "reply_markup": markup}
    )

    responses = [by_query, by_form, by_multipart, by_json]
    assert [response.json()["result"]["text"] for response in responses] == ["q", "f", "м", "j"]
    assert by_form.json()["result"]["reply_markup"] == markup
    form_call = api.calls_to("sendMessage")[1]
    assert form_call.params == {"chat_id": USER_ID, "text": "f", "reply_markup": markup}
    assert [sent.text for sent in api.sent_messages(USER_ID)] == ["q", "f", "м", "j"]
    assert api.violations == []


async def test_get_updates_long_poll_offset_and_limit(
    api: FakeBotAPI, http: httpx.AsyncClient
) -> None:
    person = api.make_user(7)

    async def write_later() -> None:
        await asyncio.sleep(0.2)
        api.send_message(person, "/start@AppealBot now")

    writer = asyncio.create_task(write_later())
    started = time.monotonic()
    first = (await http.post("getUpdates", data={"timeout": "5"})).json()["result"]
    await writer
    assert 0.15 < time.monotonic() - started < 2  # woke up for the update, not the timeout
    message = first[0]["message"]
    assert message["text"] == "/start@AppealBot now"
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 16}]
    assert message["chat"] == {"id": 7, "type": "private", "first_name": "Test"}

    api.send_message(person, "two")
    api.send_message(person, "three")
    unconfirmed = (await http.post("getUpdates", data={"limit": "2"})).json()["result"]
    assert [update["update_id"] for update in unconfirmed] == [1, 2]

    next_offset = unconfirmed[-1]["update_id"] + 1
    rest = (await http.post("getUpdates", data={"offset": str(next_offset)})).json()["result"]
    assert [update["message"]["text"] for update in rest] == ["three"]
    assert [update["update_id"] for update in api.pending_updates] == [3]

    started = time.monotonic()
    empty = await http.post("getUpdates", data={"offset": "4", "timeout": "1"})
    assert empty.json() == {"ok": True, "result": []}
    assert 0.9 < time.monotonic() - started < 3


async def test_send_update_fills_messages_and_honours_allowed_updates(
    api: FakeBotAPI, http: httpx.AsyncClient
) -> None:
    person = api.make_user(8, language_code="ru")
    sticker = {
        "file_id": "CAAC1",
        "file_unique_id": "u1",
        "type": "regular",
        "width": 1,
        "height": 1,
        "is_animated": False,
        "is_video": False,
    }
    api.send_update({"message": {"from": person, "sticker": sticker}})
    channel = api.make_chat(-1005, "channel", "News")
    api.send_update({"channel_post": {"chat": channel, "text": "post"}})
    api.send_update({"chat_member": {"chat": channel, "from": person, "date": 1}})
    api.send_update({"edited_message": {"from": person, "message_id": 1, "text": "edited"}})

    updates = (await http.post("getUpdates")).json()["result"]
    kinds = [next(key for key in update if key != "update_id") for update in updates]
    assert kinds == ["message", "channel_post", "edited_message"]  # chat_member is opt-in
    first = updates[0]["message"]
    assert (first["message_id"], first["chat"]["type"], first["chat"]["id"]) == (1, "private", 8)
    assert isinstance(first["date"], int)
    assert "edit_date" in updates[2]["edited_message"]
    assert 8 in api.chats
    assert -1005 in api.chats

    api.send_update({"chat_member": {"chat": channel, "from": person, "date": 2}})
    opted_in = await http.post(
        "getUpdates", data={"offset": "5", "allowed_updates": json.dumps(["chat_member"])}
    )
    assert [update["update_id"] for update in opted_in.json()["result"]] == [5]
    with pytest.raises(ValueError, match="exactly one of"):
        api.send_update({"message": {"from": person}, "edited_message": {"from": person}})

    action = await http.post("sendChatAction", data={"chat_id": "8", "action": "dancing"})
    assert action.json()["description"] == "Bad Request: wrong parameter action in request"


async def test_long_poll_is_answered_when_the_fake_stops() -> None:
    async with FakeBotAPI() as api, httpx.AsyncClient() as client:
        url = f"{api.base_url}{api.token}/getUpdates"
        poll = asyncio.create_task(client.post(url, data={"timeout": "30"}))
        await asyncio.sleep(0.2)  # let the long poll reach the server
        started = time.monotonic()
        await api.stop()
        response = await poll
    assert time.monotonic() - started < 2
    assert response.json() == {"ok": True, "result": []}


async def test_webhook_rules(api: FakeBotAPI, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)An HTTPS URL must be provided"):
        await bot.set_webhook("http://example.com/hook")
    with pytest.raises(BadRequest, match=r"(?i)secret token contains unallowed characters"):
        await bot.set_webhook("https://example.com/hook", secret_token="not allowed!")
    with pytest.raises(BadRequest, match=r"(?i)only on ports 80, 88, 443 or 8443"):
        await bot.set_webhook("https://example.com:8080/hook")

    assert await bot.set_webhook("https://example.com/hook", secret_token="s3cr3t-_")
    assert (api.webhook_url, api.webhook_secret) == ("https://example.com/hook", "s3cr3t-_")
    api.send_message(api.make_user(5), "queued")
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count) == ("https://example.com/hook", 1)
    with pytest.raises(Conflict, match=r"(?i)can't use getUpdates method while webhook is active"):
        await bot.get_updates()

    assert await bot.delete_webhook(drop_pending_updates=True)
    assert api.webhook_url is None
    assert await bot.get_updates() == ()
    assert len(api.violations) == 4


# -- python-telegram-bot against the fake ---------------------------------------------------


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


async def test_unknown_chat_blocked_and_deactivated_users(
    api: FakeBotAPI, bot: Bot, user: dict[str, Any]
) -> None:
    with pytest.raises(BadRequest, match=r"(?i)Chat not found"):
        await bot.send_message(424242, "hello?")
    assert [call.description for call in api.violations] == ["Bad Request: chat not found"]

    api.block_user(USER_ID)
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(USER_ID, "news")
    api.unblock_user(USER_ID)
    await bot.send_message(USER_ID, "welcome back")

    api.deactivate_user(USER_ID)
    with pytest.raises(Forbidden, match=r"(?i)user is deactivated"):
        await bot.send_chat_action(USER_ID, "typing")
    assert len(api.violations) == 1  # faults asked for by the test are not violations

    other = api.make_user(77)
    api.user_blocks_bot(other)
    with pytest.raises(Forbidden):
        await bot.send_message(77, "hi")


async def test_flood_limit_answers_retry_after_and_counts_early_retries(
    api: FakeBotAPI, bot: Bot, user: dict[str, Any]
) -> None:
    api.set_flood_limit(None, per_chat_per_second=1)
    await bot.send_message(USER_ID, "one")
    with pytest.raises(RetryAfter) as limited:
        await bot.send_message(USER_ID, "two")
    assert seconds(limited.value.retry_after) == 1
    with pytest.raises(RetryAfter):
        await bot.send_message(USER_ID, "too early")
    assert api.early_retries == 1

    await asyncio.sleep(1.0)
    await bot.send_message(USER_ID, "after waiting")
    assert [(event.chat_id, event.early) for event in api.flood_events] == [
        (USER_ID, False),
        (USER_ID, True),
    ]

    api.set_flood_limit(0.25)  # one message per 4 s globally; the new bucket starts full
    await bot.send_message(USER_ID, "first of the slow ones")
    with pytest.raises(RetryAfter) as slow:
        await bot.send_message(USER_ID, "second")
    assert seconds(slow.value.retry_after) == 4
    assert api.violations == []


async def test_injected_faults_and_latency(api: FakeBotAPI, bot: Bot, user: dict[str, Any]) -> None:
    api.fail_next("sendMessage", 500)
    api.fail_next("sendmessage", 429, retry_after=3)
    with pytest.raises(NetworkError, match=r"(?i)Internal Server Error"):
        await bot.send_message(USER_ID, "a")
    with pytest.raises(RetryAfter) as retry:
        await bot.send_message(USER_ID, "b")
    assert seconds(retry.value.retry_after) == 3
    with pytest.raises(RetryAfter):  # the injected retry_after window is enforced too
        await bot.send_message(USER_ID, "c")
    assert api.early_retries == 1
    assert api.violations == []

    api.set_latency(0.2)
    started = time.monotonic()
    await bot.get_me()
    assert time.monotonic() - started >= 0.2


async def test_dropped_connection_raises_network_error_and_is_not_processed(
    api: FakeBotAPI, bot: Bot, user: dict[str, Any]
) -> None:
    api.drop_next("SENDMESSAGE", count=2)  # case-insensitive, like fail_next
    for text in ("lost 1", "lost 2"):
        with pytest.raises(NetworkError, match="RemoteProtocolError") as dropped:
            await bot.send_message(USER_ID, text)
        assert not isinstance(dropped.value, TimedOut)  # closed, not slow
    assert api.sent_messages(USER_ID) == []
    assert api.message(USER_ID, 2) is None  # nothing was stored (the user's "hi" is 1)

    after = await bot.send_message(USER_ID, "delivered")  # the server keeps working
    assert (after.text, after.message_id) == ("delivered", 2)
    calls = api.calls_to("sendMessage")
    assert [(call.status, call.dropped, call.ok) for call in calls] == [
        (0, True, False),
        (0, True, False),
        (200, False, True),
    ]
    assert calls[0].params["text"] == "lost 1"
    assert calls[0].response == {}
    assert api.dropped_connections == 2
    assert api.injected_faults == 0
    assert api.violations == []
    with pytest.raises(AssertionError, match=r"connection dropped \(before processing\)"):
        await api.wait_for_message(USER_ID, timeout=0.01, predicate=lambda m: False)


async def test_connection_dropped_after_processing_keeps_the_message(
    api: FakeBotAPI, bot: Bot, user: dict[str, Any]
) -> None:
    api.drop_next("sendMessage", after_processing=True)
    with pytest.raises(NetworkError, match="RemoteProtocolError"):
        await bot.send_message(USER_ID, "maybe sent")
    # Telegram accepted it; only the answer was lost, so the bot cannot know.
    assert [sent.text for sent in api.sent_messages(USER_ID)] == ["maybe sent"]
    lost = api.calls_to("sendMessage")[0]
    assert (lost.status, lost.dropped, lost.result["text"]) == (200, True, "maybe sent")

    retry = await bot.send_message(USER_ID, "maybe sent")
    assert retry.message_id == lost.result["message_id"] + 1  # a duplicate, as on Telegram
    assert [sent.text for sent in api.sent_messages(USER_ID)] == ["maybe sent"] * 2
    assert api.dropped_connections == 1
    assert api.violations == []


async def _outcomes(http: httpx.AsyncClient, count: int) -> list[int | str]:
    """Statuses of ``count`` sendMessage calls; "drop" for a closed connection."""
    outcomes: list[int | str] = []
    for index in range(count):
        try:
            response = await http.post("sendMessage", data={"chat_id": USER_ID, "text": index})
        except httpx.RemoteProtocolError:
            outcomes.append("drop")
        else:
            outcomes.append(response.status_code)
    return outcomes


async def test_random_faults_are_seeded_and_hit_the_rate(
    api: FakeBotAPI, http: httpx.AsyncClient, user: dict[str, Any]
) -> None:
    api.set_random_faults(0.3, seed=7, drop_rate=0.1)
    first = await _outcomes(http, 200)
    api.set_random_faults(0.3, seed=7, drop_rate=0.1)  # same seed: same sequence
    assert await _outcomes(http, 50) == first[:50]
    api.set_random_faults(0.3, seed=8, drop_rate=0.1)
    assert await _outcomes(http, 50) != first[:50]

    errors = [outcome for outcome in first if outcome not in (200, "drop")]
    assert 0.2 < len(errors) / len(first) < 0.4
    assert 0.04 < first.count("drop") / len(first) < 0.16
    assert set(errors) == {500, 502, 503}
    failed = [call for call in api.calls_to("sendMessage") if call.status == 502]
    assert failed[0].response == {"ok": False, "error_code": 502, "description": "Bad Gateway"}
    statuses = [call.status for call in api.calls_to("sendMessage")]
    assert api.injected_faults == sum(status >= 500 for status in statuses)
    assert api.dropped_connections == statuses.count(0)
    assert len(api.sent_messages(USER_ID)) == statuses.count(200)
    assert api.violations == []


async def test_random_faults_only_hit_chosen_methods_and_rate_zero_turns_them_off(
    api: FakeBotAPI, bot: Bot, http: httpx.AsyncClient, user: dict[str, Any]
) -> None:
    api.set_random_faults(1.0, statuses=(502,))
    await bot.get_me()  # not a message-sending method
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(USER_ID, "x")

    api.set_random_faults(0, drop_rate=1.0, methods=["sendChatAction"])
    with pytest.raises(NetworkError, match="RemoteProtocolError"):
        await bot.send_chat_action(USER_ID, "typing")
    await bot.send_message(USER_ID, "sendMessage is not chosen now")

    api.set_random_faults(0)
    assert set(await _outcomes(http, 20)) == {200}
    await bot.send_chat_action(USER_ID, "typing")
    assert (api.injected_faults, api.dropped_connections) == (1, 1)
    assert api.violations == []
    with pytest.raises(ValueError, match="sum of at most 1"):
        api.set_random_faults(0.7, drop_rate=0.5)
    with pytest.raises(ValueError, match="does not implement"):
        api.set_random_faults(0.1, methods=["sendSticker"])


async def test_callback_query_is_answerable_exactly_once(
    api: FakeBotAPI, bot: Bot, user: dict[str, Any]
) -> None:
    await bot.send_message(
        USER_ID, "Choose", reply_markup=keyboard(InlineKeyboardButton("Yes", callback_data="yes"))
    )
    sent = await api.wait_for_message(USER_ID)
    with pytest.raises(AssertionError, match="no button with callback_data 'no'"):
        api.press_button(user, sent, "no")
    update = api.press_button(user, sent, "yes")
    query_id = update["callback_query"]["id"]
    assert update["callback_query"]["message"]["text"] == "Choose"

    with pytest.raises(BadRequest, match=r"(?i)MESSAGE_TOO_LONG"):
        await bot.answer_callback_query(query_id, text="x" * 201)
    assert await bot.answer_callback_query(query_id, text="Thanks!")
    assert api.callback_answers[query_id]["text"] == "Thanks!"
    with pytest.raises(BadRequest, match=r"(?i)Query is too old"):
        await bot.answer_callback_query(query_id)
    assert [call.description for call in api.violations] == [
        "Bad Request: MESSAGE_TOO_LONG",
        "Bad Request: query is too old and response timeout expired or query ID is invalid",
    ]


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


async def test_inline_query_answers(api: FakeBotAPI, http: httpx.AsyncClient) -> None:
    person = api.make_user(9)
    query_id = api.inline_query(person, "donate")["inline_query"]["id"]

    def article(result_id: str, text: str = "Donate") -> dict[str, Any]:
        content = {"message_text": text, "parse_mode": "HTML"}
        return {"type": "article", "id": result_id, "title": "T", "input_message_content": content}

    async def answer(results: list[dict[str, Any]]) -> dict[str, Any]:
        data = {"inline_query_id": query_id, "results": json.dumps(results), "cache_time": "0"}
        return (await http.post("answerInlineQuery", data=data)).json()

    assert (await answer([article(str(i)) for i in range(51)]))["description"] == (
        "Bad Request: RESULTS_TOO_MUCH"
    )
    duplicate = await answer([article("1"), article("1")])
    assert duplicate["description"] == "Bad Request: RESULT_ID_DUPLICATE"
    assert (await answer([article("x" * 65)]))["description"] == "Bad Request: RESULT_ID_INVALID"
    broken = await answer([article("1", "<b>unclosed")])
    assert broken["description"].startswith("Bad Request: can't parse entities")
    assert (await answer([article("1")]))["ok"] is True
    assert api.inline_answers[query_id][0]["id"] == "1"
    again = await answer([article("1")])
    assert again["description"].endswith("query ID is invalid")
    assert len(api.violations) == 5


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


async def test_application_end_to_end_with_polling(api: FakeBotAPI) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        assert update.effective_user is not None
        await update.effective_message.reply_html(
            f"Hello <b>{update.effective_user.first_name}</b>"
        )

    application = ApplicationBuilder().token(api.token).base_url(api.base_url).build()
    application.add_handler(CommandHandler("start", start))
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0.0, timeout=5)
        api.send_message(api.make_user(55, first_name="Zara"), "/start")
        reply = await api.wait_for_message(55)
        await application.updater.stop()
        await application.stop()
    assert isinstance(reply, SentMessage)
    assert (reply.text, reply.html) == ("Hello Zara", "Hello <b>Zara</b>")
    assert api.pending_updates == []  # the update was confirmed by the next offset
    assert api.violations == []


# -- the HTML validator ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "text", "entities"),
    [
        ("plain", "plain", []),
        ("<b>b</b><strong>s</strong>", "bs", [("bold", 0, 1), ("bold", 1, 1)]),
        (
            "<i>i</i><em>e</em><u>u</u><ins>n</ins>",
            "ieun",
            [("italic", 0, 1), ("italic", 1, 1), ("underline", 2, 1), ("underline", 3, 1)],
        ),
        (
            "<s>a</s><strike>b</strike><del>c</del>",
            "abc",
            [("strikethrough", 0, 1), ("strikethrough", 1, 1), ("strikethrough", 2, 1)],
        ),
        (
            '<span class="tg-spoiler">x</span><tg-spoiler>y</tg-spoiler>',
            "xy",
            [("spoiler", 0, 1), ("spoiler", 1, 1)],
        ),
        ("<b>bold <i>both</i></b>", "bold both", [("bold", 0, 9), ("italic", 5, 4)]),
        ('<a href="tg://user?id=42">Ann</a>', "Ann", [("text_mention", 0, 3)]),
        ('<a href="javascript:alert(1)">x</a>', "x", []),  # Telegram drops the link
        ("<code>c</code>", "c", [("code", 0, 1)]),
        ('<pre><code class="language-python">p</code></pre>', "p", [("pre", 0, 1)]),
        ("<blockquote expandable>q</blockquote>", "q", [("expandable_blockquote", 0, 1)]),
        ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍", [("custom_emoji", 0, 2)]),
        ("&lt;b&gt; &amp; &quot; &#39; &#x1F600;", "<b> & \" ' 😀", []),
        ("Q&A & more &", "Q&A & more &", []),
        ("😀<b>😀</b>", "😀😀", [("bold", 2, 2)]),
        ("<B>upper</B>", "upper", [("bold", 0, 5)]),
    ],
)
def test_parse_html_accepts_telegram_html(
    source: str, text: str, entities: list[tuple[str, int, int]]
) -> None:
    parsed_text, parsed_entities = parse_html(source)
    assert parsed_text == text
    assert [(e["type"], e["offset"], e["length"]) for e in parsed_entities] == entities


def test_parse_html_entity_details() -> None:
    _, (pre,) = parse_html('<pre><code class="language-python">x = 1</code></pre>')
    assert pre == {"type": "pre", "offset": 0, "length": 5, "language": "python"}
    _, (link,) = parse_html('<a href="https://example.org/?a=1&amp;b=2">x</a>')
    assert link["url"] == "https://example.org/?a=1&b=2"
    _, (mention,) = parse_html('<a href="tg://user?id=42">Ann</a>')
    assert mention["user"]["id"] == 42


@pytest.mark.parametrize(
    ("source", "detail"),
    [
        ("<div>x</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("line<br>break", 'Unsupported start tag "br" at byte offset 4'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<b>never closed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<i>x</b>", 'Unmatched end tag at byte offset 4, expected "</i>", found "</b>"'),
        ("ж<b>x</i>", 'Unmatched end tag at byte offset 6, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ('<a href="x"', "Unclosed start tag at byte offset 0"),
        ("<span>s</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<b foo>x</b>", 'Expected equal sign in declaration of an attribute of the tag "b" at'),
        ("a &nbsp; b", "Can't find end of the entity starting at byte offset 2"),
        ("&#0;", "Can't find end of the entity starting at byte offset 0"),
        ('<tg-emoji emoji-id="x">e</tg-emoji>', "Invalid custom emoji identifier specified"),
    ],
)
def test_parse_html_rejects_what_telegram_rejects(source: str, detail: str) -> None:
    with pytest.raises(TelegramHTMLError) as error:
        parse_html(source)
    assert error.value.detail.startswith(detail)


@given(st.text(st.characters(codec="utf-8")))
def test_escaped_text_is_valid_html_and_round_trips(text: str) -> None:
    assert parse_html(html.escape(text)) == (text, [])
    assert parse_html(html.escape(text, quote=False)) == (text, [])
    plain, entities = parse_html(f"<b>{html.escape(text)}</b>")
    assert plain == text
    expected = [{"type": "bold", "offset": 0, "length": utf16_len(text)}] if text else []
    assert entities == expected


def test_utf16_len_counts_surrogate_pairs() -> None:
    assert [utf16_len(s) for s in ("", "abc", "é", "😀", "a😀b")] == [0, 3, 1, 2, 4]
