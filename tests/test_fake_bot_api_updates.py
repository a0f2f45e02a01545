"""The fake Bot API's requests and updates: routing, auth, encodings, polling, webhooks, queries.

The fake is driven with raw HTTP (httpx) and with python-telegram-bot's own ``Bot`` and
``Application``, so each error shape is checked against the exception PTB raises for it.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, Update
from telegram.error import BadRequest, Conflict
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes

from playground.telegram import FakeBotAPI, SentMessage
from tests.bot_api_helpers import USER_ID, keyboard

# fixtures: pytest looks them up by name; `as` tells ruff these imports are meant
from tests.bot_api_helpers import api as api
from tests.bot_api_helpers import bot as bot
from tests.bot_api_helpers import http as http
from tests.bot_api_helpers import user as user

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


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
