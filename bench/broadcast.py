"""Broadcast pace and supporter latency against a Bot API that enforces a flood limit.

    .venv/bin/python -m bench.broadcast [--subscribers 1000] [--limit 30]
    .venv/bin/python -m bench.broadcast --sizes 10000,100000 --limit 1000 [--send-share 0.97]

Runs the real bot (Application, handlers, storage, broadcast worker) against the test suite's
fake Bot API with a global flood limit of `--limit` messages/s, while supporters send /start
every half second (ten people taking turns, each within the bot's per-person limit). Then,
as a baseline in the same run, the loop most bot templates use (send, sleep 0.05 s, repeat)
against the same limit. Prints one line per figure.

With `--sizes`, each size is a separate run of the bot in a process of its own
(`python -m bench.broadcast --child ...`, the same code path as above, with `SEND_RATE` set to
`--send-share` x `--limit` and `BROADCAST_SENDERS` to `--senders`), against an emulator in this
process. It reports the rate achieved as a share of the limit, 429 answers and early retries
(requests sent while a `retry_after` was running), supporter latency, CPU, and the bot's RSS:
sampled during the broadcast, and its peak, which the child prints at its end: `VmHWM` from
/proc/self/status, the peak resident set since the process exec'd. The child's
`getrusage(RUSAGE_SELF).ru_maxrss` is printed too but not used: on Linux it also counts the
pages the child shared with this process between fork and exec (this one holds the emulator's
100,000 chats), so it shows this process's size, not the bot's. `--max-seconds` stops a
broadcast early and reports what it did so far.

The subscribers are seeded before the child starts, in one transaction:
`storage.database.transaction()` and an `executemany` INSERT into `users` written here
(`seed_subscribers`), not one `set_subscribed` call each (100,000 of those take minutes); the
rows are what `set_subscribed` writes for a new subscriber. The baseline is the naive loop
above against the same limit, for `--naive-seconds`.
"""

import argparse
import asyncio
import json
import resource
import signal
import statistics
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from telegram import Bot
from telegram.error import RetryAfter

from bench.common import (
    EMERGENCY,
    REPO,
    CallWatcher,
    Child,
    is_message,
    ms,
    percentile,
    proc_status_mb,
    python_module,
    wait_until_answering,
)
from playground.telegram import Call, FakeBotAPI
from tgbot.runtime.app import build_application
from tgbot.runtime.runner import open_services
from tgbot.settings import Settings, load_settings
from tgbot.storage import Storage

TOKEN = "123456:BENCH-token_abcdefghijklmnop"  # noqa: S105 - the fake's, not a secret
ADMIN = 1
SUPPORTERS = tuple(range(2, 12))
"""People chatting during a broadcast, one /start every half second between them: each
stays within the bot's per-person limit (tgbot/runtime/throttle.py: 40 updates a minute)."""
FIRST_SUBSCRIBER = 10_000


def news_sent(api: FakeBotAPI) -> list[float]:
    """When each news message was accepted."""
    return [
        call.at for call in api.calls_to("sendMessage")
        if call.ok and call.params["chat_id"] >= FIRST_SUBSCRIBER
    ]  # fmt: skip


async def supporter_latencies(api: FakeBotAPI, stop: asyncio.Event) -> list[float]:
    users = [api.make_user(user_id, language_code="en") for user_id in SUPPORTERS]
    latencies = []
    while not stop.is_set():
        user = users[len(latencies) % len(users)]
        started = time.monotonic()
        api.send_message(user, "/start")
        await api.wait_for_message(user["id"], timeout=30)
        latencies.append(time.monotonic() - started)
        await asyncio.sleep(0.5)
    return latencies


def bench_settings(api_url: str, database: Path, **overrides: object) -> Settings:
    return load_settings(
        bot_token=TOKEN, telegram_api_url=api_url, database_path=database,
        emergency_contact_text=EMERGENCY, admin_ids=str(ADMIN), _env_file=None, **overrides,
    )  # fmt: skip


async def run_bot(api: FakeBotAPI, subscribers: int, limit: float, database: Path) -> None:
    settings = bench_settings(api.root_url, database)
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


async def run_naive(
    api: FakeBotAPI, subscribers: int, limit: float, seconds: float | None = None
) -> None:
    """The template loop: send, sleep 0.05 s; on a 429 wait retry_after and try again.

    With `seconds`, it stops after that long (a sample of its pace)."""
    for user_id in range(FIRST_SUBSCRIBER, FIRST_SUBSCRIBER + subscribers):
        api.open_private_chat(api.make_user(user_id, language_code="en"))
    started = time.monotonic()
    async with Bot(TOKEN, base_url=api.base_url) as bot:
        for user_id in range(FIRST_SUBSCRIBER, FIRST_SUBSCRIBER + subscribers):
            if seconds is not None and time.monotonic() - started >= seconds:
                break
            while True:
                try:
                    await bot.send_message(user_id, "Benchmark news")
                    break
                except RetryAfter as error:
                    await asyncio.sleep(error.retry_after)
            await asyncio.sleep(0.05)
    name = "naive loop" if seconds is None else f"naive loop ({seconds:g} s sample)"
    report(name, api, subscribers, limit, time.monotonic() - started)


def report(name: str, api: FakeBotAPI, subscribers: int, limit: float, elapsed: float) -> None:
    sent = news_sent(api)
    window = sent[-1] - sent[0] if len(sent) > 1 else 0.0
    rate = (len(sent) - 1) / window if window else 0.0
    replies = [
        call for call in api.calls_to("sendMessage")
        if call.ok and call.params["chat_id"] in SUPPORTERS and sent[0] <= call.at <= sent[-1]
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
    parser.add_argument(
        "--sizes",
        type=lambda text: [int(size) for size in text.split(",")],
        help="comma-separated subscriber counts, each run in a process of its own"
        " (e.g. 10000,100000 with --limit 1000)",
    )
    parser.add_argument(
        "--send-share", type=float, default=0.97, help="with --sizes: SEND_RATE = share x limit"
    )
    parser.add_argument("--senders", type=int, default=1, help="with --sizes: BROADCAST_SENDERS")
    parser.add_argument(
        "--naive-seconds", type=float, default=10.0, help="with --sizes: naive loop sample"
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        help="with --sizes: stop a broadcast after this long and report what it did so far",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--api-url", help=argparse.SUPPRESS)
    parser.add_argument("--database", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--send-rate", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        await child(args.api_url, args.database, args.send_rate, args.senders)
        return
    if args.sizes:
        await run_sizes(args)
        return
    with tempfile.TemporaryDirectory() as folder:
        async with FakeBotAPI(token=TOKEN) as api:
            api.set_flood_limit(args.limit)
            await run_bot(api, args.subscribers, args.limit, Path(folder) / "bench.sqlite3")
        async with FakeBotAPI(token=TOKEN) as api:
            api.set_flood_limit(args.limit)
            await run_naive(api, args.subscribers, args.limit)


# -- one process per size (--sizes) ------------------------------------------------------------

RSS_GROWTH_TARGET = 1.2
RSS_LIMIT_MB = 200.0
RATE_TARGET = 0.95


async def seed_subscribers(database: Path, subscribers: int) -> float:
    """Write `subscribers` English subscribers in one transaction; returns the seconds taken.

    The row is the one `storage.users.set_subscribed(user_id, "en", True)` inserts for someone
    new (language not chosen, subscribed now); only the per-day join counter is left out.
    """
    started = time.monotonic()
    storage = await Storage.open(str(database))
    try:
        now = int(time.time())
        rows = (
            (user_id, "en", now, now, now)
            for user_id in range(FIRST_SUBSCRIBER, FIRST_SUBSCRIBER + subscribers)
        )
        async with storage.database.transaction() as conn:
            await conn.executemany(
                "INSERT INTO users (user_id, language, subscribed_at, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?)",
                rows,
            )
    finally:
        await storage.close()
    return time.monotonic() - started


async def child(api_url: str, database: Path, send_rate: float, senders: int) -> None:
    """The bot as `run_bot` runs it, until SIGTERM; then its peak RSS and CPU time as JSON."""
    settings = bench_settings(api_url, database, send_rate=send_rate, broadcast_senders=senders)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with open_services(settings) as services:
        application = build_application(services, polling=True)
        async with application:
            await application.start()
            await application.updater.start_polling(poll_interval=0, timeout=1)
            services.broadcaster.start(application.bot)
            await stop.wait()
            await services.broadcaster.stop()
            await application.updater.stop()
            await application.stop()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    figures = {
        "peak_mb": proc_status_mb("self", "VmHWM"),
        "ru_maxrss_mb": usage.ru_maxrss / 1024,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
    }
    print(json.dumps(figures), flush=True)


@dataclass
class Watch:
    """What the emulator saw during a broadcast, read call by call as it happens."""

    admin_report: bool = False
    news: int = 0
    news_first: float = 0.0
    news_last: float = 0.0
    refused: int = 0
    replies: list[float] = field(default_factory=list)
    """When each reply to the supporter was accepted."""
    pings: deque[float] = field(default_factory=deque)
    latencies: list[float] = field(default_factory=list)

    def on_call(self, call: Call) -> bool:
        chat = call.params.get("chat_id")
        if call.method == "sendMessage" and not call.ok and call.status != 429:
            self.refused += 1
        if not is_message(call):
            return False
        if isinstance(chat, int) and chat >= FIRST_SUBSCRIBER:
            self.news += 1
            self.news_first = self.news_first or call.at
            self.news_last = call.at
        elif chat in SUPPORTERS:
            self.replies.append(call.at)
            if self.pings:
                self.latencies.append(call.at - self.pings.popleft())
        elif chat == ADMIN and "has finished sending" in str(call.params.get("text")):
            self.admin_report = True
        return self.admin_report


async def ping_supporter(api: FakeBotAPI, watch: Watch, stop: asyncio.Event) -> None:
    """/start every half second, the next one once the last was answered."""
    users = [api.make_user(user_id, language_code="en") for user_id in SUPPORTERS]
    sent = 0
    while not stop.is_set():
        if not watch.pings:
            api.send_message(users[sent % len(users)], "/start")
            sent += 1
            watch.pings.append(time.monotonic())
        await asyncio.sleep(0.5)


async def sample_rss(
    bot: Child, watch: Watch, stop: asyncio.Event
) -> list[tuple[int, float, float]]:
    """The bot's RSS and peak RSS so far, every half second, with the news messages sent."""
    samples = []
    while not stop.is_set():
        samples.append((watch.news, bot.rss_mb(), bot.peak_rss_mb()))
        await asyncio.sleep(0.5)
    return samples


def describe_samples(samples: list[tuple[int, float, float]], points: int = 6) -> str:
    if not samples:
        return "none"
    step = max(1, (len(samples) - 1) // (points - 1))
    chosen = samples[::step]
    if chosen[-1] is not samples[-1]:
        chosen.append(samples[-1])
    peak = max(samples, key=lambda sample: sample[1])
    shown = ", ".join(f"{sent}: {rss:.0f}/{hwm:.0f}" for sent, rss, hwm in chosen)
    return f"{shown} (highest {peak[1]:.0f} at {peak[0]} sent)"


async def post_news(api: FakeBotAPI, watcher: CallWatcher) -> tuple[dict, str]:
    """/post as the admin; returns the preview message and its Send button's data."""
    admin = api.make_user(ADMIN, language_code="en")
    api.send_message(admin, "/post [en] Benchmark news")
    found: list[tuple[dict, str]] = []

    def on_call(call: Call) -> bool:
        if is_message(call) and call.params.get("chat_id") == ADMIN:
            markup = call.params.get("reply_markup") or {}
            for row in markup.get("inline_keyboard", []):
                for button in row:
                    if str(button.get("callback_data", "")).startswith("post:send:"):
                        found.append((call.result, button["callback_data"]))
        return bool(found)

    await watcher.until(on_call, timeout=30, what="the post's preview")
    return found[0]


@dataclass
class SizeResult:
    subscribers: int
    peak_rss_mb: float


async def run_size(subscribers: int, args: argparse.Namespace) -> SizeResult:
    limit, send_rate = args.limit, round(args.send_share * args.limit, 3)
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        database = folder / "bench.sqlite3"
        seeding = await seed_subscribers(database, subscribers)
        async with FakeBotAPI(token=TOKEN) as api:
            api.set_flood_limit(limit)
            for user_id in range(FIRST_SUBSCRIBER, FIRST_SUBSCRIBER + subscribers):
                api.open_private_chat(api.make_user(user_id, language_code="en"))
            watcher = CallWatcher(api)
            command = python_module(
                "bench.broadcast", "--child", "--api-url", api.root_url,
                "--database", str(database), "--send-rate", str(send_rate),
                "--senders", str(args.senders),
            )  # fmt: skip
            bot = await Child.spawn(command, env=None, cwd=REPO, folder=folder, name="bot")
            try:
                await wait_until_answering(api, watcher, bot, ADMIN)
                watcher.new_calls()
                start_rss = bot.rss_mb()
                preview, send = await post_news(api, watcher)
                watch, stop = Watch(), asyncio.Event()
                pinging = asyncio.create_task(ping_supporter(api, watch, stop))
                sampling = asyncio.create_task(sample_rss(bot, watch, stop))
                started = time.monotonic()
                cpu, own_cpu = bot.cpu_seconds(), time.process_time()
                api.press_button(api.make_user(ADMIN, language_code="en"), preview, send)
                try:
                    await watcher.until(
                        watch.on_call,
                        timeout=args.max_seconds or 60 + 3 * subscribers / send_rate,
                        what="the report",
                    )
                except TimeoutError:
                    if not args.max_seconds:
                        raise
                elapsed = time.monotonic() - started
                cpu, own_cpu = bot.cpu_seconds() - cpu, time.process_time() - own_cpu
                stop.set()
                await pinging
                samples = await sampling
            finally:
                stopping = asyncio.create_task(bot.stop())
                stop_rss = 0.0
                while not stopping.done():
                    stop_rss = max(stop_rss, bot.rss_mb() if not stopping.done() else 0.0)
                    await asyncio.sleep(0.05)
                code = await stopping
            if code != 0:
                raise bot.failure(f"exited with {code}")
            figures = json.loads(bot.stdout().strip().splitlines()[-1])
            flood, early = len(api.flood_events), api.early_retries
    window = watch.news_last - watch.news_first
    rate = (watch.news - 1) / window if window > 0 else 0.0
    replies = sum(watch.news_first <= at <= watch.news_last for at in watch.replies)
    total = rate + replies / window if window > 0 else 0.0
    share = total / limit
    latencies = watch.latencies or [float("nan")]
    name = f"bot, {subscribers} subscribers"
    print(
        f"{name}: seeded in {seeding:.1f} s; SEND_RATE {send_rate:g}, BROADCAST_SENDERS"
        f" {args.senders}; {watch.news} of {subscribers} delivered in {elapsed:.1f} s"
        f"{'' if watch.admin_report else ' (stopped there: --max-seconds)'};"
        f" news {rate:.1f}/s, news + replies {total:.1f}/s = {share:.1%} of the {limit:g}/s"
        f" limit (target >= {RATE_TARGET:.0%}: {'OK' if share >= RATE_TARGET else 'BELOW'});"
        f" 429 answers {flood}, early retries {early}; other refusals {watch.refused}"
    )
    print(
        f"{name}: supporter /start over {len(watch.latencies)} requests:"
        f" p50 {ms(statistics.median(latencies))}, p99 {ms(percentile(latencies, 0.99))};"
        f" CPU during the broadcast: bot {cpu / elapsed:.0%} of a core,"
        f" emulator {own_cpu / elapsed:.0%}; RSS {start_rss:.0f} MB when idle,"
        f" peak {figures['peak_mb']:.0f} MB"
    )
    print(
        f"{name}: RSS/peak so far (MB) by messages sent: {describe_samples(samples)};"
        f" highest while stopping {stop_rss:.0f}; ru_maxrss {figures['ru_maxrss_mb']:.0f}"
    )
    return SizeResult(subscribers, figures["peak_mb"])


async def run_sizes(args: argparse.Namespace) -> None:
    results = [await run_size(size, args) for size in sorted(args.sizes)]
    async with FakeBotAPI(token=TOKEN) as api:
        api.set_flood_limit(args.limit)
        await run_naive(
            api, int(args.naive_seconds / 0.05) + 1, args.limit, seconds=args.naive_seconds
        )
    if len(results) > 1:
        small, large = results[0], results[-1]
        growth = large.peak_rss_mb / small.peak_rss_mb
        print(
            f"peak RSS: {small.subscribers} -> {small.peak_rss_mb:.0f} MB,"
            f" {large.subscribers} -> {large.peak_rss_mb:.0f} MB: x{growth:.2f}"
            f" (target <= {RSS_GROWTH_TARGET}: {'OK' if growth <= RSS_GROWTH_TARGET else 'ABOVE'};"
            f" < {RSS_LIMIT_MB:.0f} MB: {'OK' if large.peak_rss_mb < RSS_LIMIT_MB else 'ABOVE'})"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main())
