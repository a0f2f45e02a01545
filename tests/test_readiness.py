"""Supervised background work and readiness, through the real bot and a real database fault.

Another connection holds SQLite's write lock for 10 s in the middle of a broadcast. The
worker's writes wait out the busy timeout and fail; the worker is started again with growing
pauses, `/readyz` says so meanwhile, and once the lock is gone every subscriber has exactly
one copy.
"""

import asyncio
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from http import HTTPStatus

import httpx
import pytest

from tests.conftest import ADMIN_ID
from tgbot.runtime.web import create_web_app
from tgbot.storage.broadcasts import Status

SUBSCRIBERS = range(500, 530)
LOCKED_SECONDS = 10.0


@asynccontextmanager
async def http_client(running):
    web = create_web_app(running.application, running.services, telegram_secret=None)
    transport = httpx.ASGITransport(app=web)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as http:
        yield http


async def test_a_running_bot_is_live_and_ready(bot):
    await bot.api.wait_for_call("getUpdates", predicate=lambda call: call.ok)
    async with http_client(bot) as http:
        live, ready = await http.get("/healthz"), await http.get("/readyz")
    assert live.status_code == ready.status_code == HTTPStatus.OK
    assert ready.json()["problems"] == []


@pytest.mark.logs_errors  # the broadcast worker fails on the closed database too
async def test_a_dead_database_makes_the_bot_unready_but_still_live(bot):
    await bot.storage.close()  # the database goes away under the running bot
    async with http_client(bot) as http:
        live, ready = await http.get("/healthz"), await http.get("/readyz")
    assert live.status_code == HTTPStatus.OK
    assert ready.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert "database unusable (ValueError)" in ready.json()["problems"]


async def start_broadcast(bot) -> None:
    bot.api.open_private_chat(bot.api.make_user(ADMIN_ID, language_code="en"))  # the report
    for user_id in SUBSCRIBERS:
        bot.api.open_private_chat(bot.api.make_user(user_id, language_code="en"))
        await bot.storage.users.set_subscribed(user_id, "en", True)
    store = bot.storage.broadcasts
    draft = await store.start_draft(ADMIN_ID)
    await store.add_to_draft(draft, {"en": "News from the appeal"}, None)
    assert await store.confirm(draft, ADMIN_ID, "en") == len(SUBSCRIBERS)


async def each_got_one_copy(bot) -> None:
    """Wait for the broadcast to finish, then count the copies per subscriber."""
    for _ in range(300):
        if (await bot.storage.broadcasts.recent(1))[0].status == Status.DONE:
            break
        await asyncio.sleep(0.1)
    copies = Counter(m.chat_id for m in bot.api.sent_messages() if m.chat_id in SUBSCRIBERS)
    assert copies == dict.fromkeys(SUBSCRIBERS, 1)


@asynccontextmanager
async def write_lock(bot) -> AsyncIterator[None]:
    """Another connection holds SQLite's write lock: the bot's writes wait, then fail. It is
    taken in a thread, so that a write of the bot's own that is under way can finish."""
    path = bot.services.settings.database_path
    with closing(
        sqlite3.connect(path, isolation_level=None, timeout=5, check_same_thread=False)
    ) as other:
        await asyncio.to_thread(other.execute, "BEGIN IMMEDIATE")
        yield
        other.execute("ROLLBACK")


@pytest.mark.logs_errors
async def test_a_broadcast_survives_a_locked_database_and_sends_each_copy_once(bot):
    await start_broadcast(bot)
    bot.api.set_latency(0.05)  # about 20 messages a second: the lock comes mid-way
    bot.services.broadcaster.wake()
    await bot.api.wait_for_call("sendMessage", predicate=lambda call: call.ok)
    async with write_lock(bot):
        await asyncio.sleep(LOCKED_SECONDS)
    await each_got_one_copy(bot)


@pytest.mark.logs_errors
async def test_readyz_names_a_supervised_task_that_is_down_until_it_is_back(bot):
    await start_broadcast(bot)
    async with write_lock(bot):
        bot.services.broadcaster.wake()  # its first write waits out busy_timeout and fails
        await asyncio.sleep(6)
        async with http_client(bot) as http:
            ready = await http.get("/readyz")
    assert ready.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert ready.json()["problems"] == ["broadcast worker failing (OperationalError); restarting"]
    await each_got_one_copy(bot)
    assert bot.services.health.task("broadcasts").failures >= 1
    async with http_client(bot) as http:
        assert (await http.get("/readyz")).status_code == HTTPStatus.OK
