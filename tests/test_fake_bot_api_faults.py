"""What goes wrong on the fake Bot API: refused chats, flood limits, injected and random faults.

Unknown, blocked and deactivated chats, flood control with retry_after, injected errors
and latency, and connections dropped before or after the request was processed.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import time
from typing import Any

import httpx
import pytest
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from playground.telegram import FakeBotAPI
from tests.bot_api_helpers import USER_ID

# fixtures: pytest looks them up by name; `as` tells ruff these imports are meant
from tests.bot_api_helpers import api as api
from tests.bot_api_helpers import bot as bot
from tests.bot_api_helpers import http as http
from tests.bot_api_helpers import user as user

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


def seconds(value: float | dtm.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dtm.timedelta) else value


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
