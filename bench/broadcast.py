"""Broadcast pace and supporter latency against a Bot API that enforces a flood limit.

    .venv/bin/python -m bench.broadcast [--subscribers 1000] [--limit 30]

Runs the real bot (Application, handlers, storage, broadcast worker) against the test suite's
fake Bot API with a global flood limit of `--limit` messages/s, while a supporter sends /start
every half second. Then, as a baseline in the same run, the loop most bot templates use
(send, sleep 0.05 s, repeat) against the same limit. Prints one line per figure.
"""

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from telegram import Bot
from telegram.error import RetryAfter

from tgbot.app import build_application
from tgbot.playground.bot_api import FakeBotAPI
from tgbot.runner import open_services
from tgbot.settings import load_settings

TOKEN = "123456:BENCH-token_abcdefghijklmnop"  # noqa: S105 - the fake's, not a secret
ADMIN = 1
SUPPORTER = 2
FIRST_SUBSCRIBER = 10_000


def news_sent(api: FakeBotAPI) -> list[float]:
    """When each news message was accepted."""
    return [
        call.at for call in api.calls_to("sendMessage")
        if call.ok and call.params["chat_id"] >= FIRST_SUBSCRIBER
    ]  # fmt: skip


async def supporter_latencies(api: FakeBotAPI, stop: asyncio.Event) -> list[float]:
    user = api.make_user(SUPPORTER, language_code="en")
    latencies = []
    while not stop.is_set():
        started = time.monotonic()
        api.send_message(user, "/start")
        await api.wait_for_message(SUPPORTER, timeout=30)
        latencies.append(time.monotonic() - started)
        await asyncio.sleep(0.5)
    return latencies


async def run_bot(api: FakeBotAPI, subscribers: int, limit: float, database: Path) -> None:
    settings = load_settings(
        bot_token=TOKEN, telegram_api_url=api.root_url, database_path=database,
        emergency_contact_text="bench", admin_ids=str(ADMIN), _env_file=None,
    )  # fmt: skip
    async with open_services(settings) as services:
        for user_id in range(FIRST_SUBSCRIBER, FIRST_SUBSCRIBER + subscribers):
            api.open_private_chat(api.make_user(user_id, language_code="en"))
            await services.storage.users.set_subscribed(user_id, "en", True)
        application = build_application(services, polling=True)
        async with application:
            await application.start()
            await application.updater.start_polling(poll_interval=0, timeout=1)
            services.broadcaster.start(application.bot)
            admin = api.make_user(ADMIN, language_code="en")
            api.send_message(admin, "/post [en] Benchmark news")
            summary = await api.wait_for_message(
                ADMIN, predicate=lambda m: "post:send:" in str(m.buttons), timeout=30
            )
            stop = asyncio.Event()
            latency_task = asyncio.create_task(supporter_latencies(api, stop))
            started = time.monotonic()
            api.press_button(admin, summary, "post:send:1")
            await api.wait_for_message(
                ADMIN, predicate=lambda m: "has finished sending" in m.text, timeout=subscribers
            )
            elapsed = time.monotonic() - started
            stop.set()
            latencies = await latency_task
            await services.broadcaster.stop()
            await application.updater.stop()
            await application.stop()
    report("bot", api, subscribers, limit, elapsed)
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(
        f"bot: supporter /start latency during the broadcast over {len(latencies)} requests:"
        f" p50 {statistics.median(latencies) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms,"
        f" max {latencies[-1] * 1000:.0f} ms"
    )


async def run_naive(api: FakeBotAPI, subscribers: int, limit: float) -> None:
    """The template loop: send, sleep 0.05 s; on a 429 wait retry_after and try again."""
    for user_id in range(FIRST_SUBSCRIBER, FIRST_SUBSCRIBER + subscribers):
        api.open_private_chat(api.make_user(user_id, language_code="en"))
    started = time.monotonic()
    async with Bot(TOKEN, base_url=api.base_url) as bot:
        for user_id in range(FIRST_SUBSCRIBER, FIRST_SUBSCRIBER + subscribers):
            while True:
                try:
                    await bot.send_message(user_id, "Benchmark news")
                    break
                except RetryAfter as error:
                    await asyncio.sleep(error.retry_after)
            await asyncio.sleep(0.05)
    report("naive loop", api, subscribers, limit, time.monotonic() - started)


def report(name: str, api: FakeBotAPI, subscribers: int, limit: float, elapsed: float) -> None:
    sent = news_sent(api)
    window = sent[-1] - sent[0] if len(sent) > 1 else 0.0
    rate = (len(sent) - 1) / window if window else 0.0
    replies = [
        call for call in api.calls_to("sendMessage")
        if call.ok and call.params["chat_id"] == SUPPORTER and sent[0] <= call.at <= sent[-1]
    ]  # fmt: skip
    total = rate + len(replies) / window if window else 0.0
    print(
        f"{name}: {len(sent)} of {subscribers} delivered in {elapsed:.1f} s;"
        f" news {rate:.1f}/s, news + replies {total:.1f}/s"
        f" = {total / limit * 100:.0f}% of the {limit:g}/s limit;"
        f" 429 answers {len(api.flood_events)}, early retries {api.early_retries}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--limit", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        async with FakeBotAPI(token=TOKEN) as api:
            api.set_flood_limit(args.limit)
            await run_bot(api, args.subscribers, args.limit, Path(folder) / "bench.sqlite3")
        async with FakeBotAPI(token=TOKEN) as api:
            api.set_flood_limit(args.limit)
            await run_naive(api, args.subscribers, args.limit)


if __name__ == "__main__":
    asyncio.run(main())
