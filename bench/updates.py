"""Update handling: throughput and reply latency of the whole bot, against a bare echo bot.

    .venv/bin/python -m bench.updates [--updates 10000] [--paced 2000] [--rate 100]

The bot runs as production runs it, `python -m tgbot` in a process of its own (polling, every
handler, SQLite, default settings), against the emulated Telegram Bot API (FakeBotAPI) served
from this process. It gets a mix of updates, each from a different user: /start, FAQ questions
in five languages from tests/faq_cases/, taps on main-menu buttons the bot sent (menu:about,
...), /progress (without Stripe: "donations are not set up") and calls for help from
tests/safety_cases/ (answered with the emergency contact). Button users sent /start first,
untimed, so that the menu exists.

Three phases per bot:
- burst: all `--updates` updates are queued at once; throughput is updates / (last reply
  accepted by the emulator - moment the queue was filled).
- paced: `--paced` updates arrive at `--rate` per second; latency is from queuing an update
  to the emulator accepting the bot's first reply to it (sendMessage, or answerCallbackQuery
  for a tap), and to its last reply (answers with a follow-up send two messages).
- by kind: `--per-kind` updates of one kind at a time, queued at once: CPU per update of
  each kind (the issue's target is at most 2.5x the echo bot's for every kind).

Baseline in the same run: a bare python-telegram-bot bot (one MessageHandler echoing the text,
one CallbackQueryHandler answering the tap) in its own process, with the same updates against
a fresh emulator: once with python-telegram-bot's defaults (updates one at a time) and once
with `concurrent_updates(64)` (the bot handles up to 64 at a time). CPU per update is the
process's user + system time (/proc), the steadiest figure on a shared machine; "emulator CPU"
is this process's, to show when the emulator rather than the bot is the limit.

`--mix start=1` (or faq, button, progress, help, with weights) sends one kind of update only;
`--profile FILE --bot-only` runs the bot under cProfile (FILE ending in .txt: statistics by
own time, main thread only) or pyinstrument (any other name), which slow it down 2-3x.
"""

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.common import (
    REPO,
    TOKEN,
    CallWatcher,
    Child,
    bot_env,
    describe_counts,
    is_message,
    ms,
    percentile,
    python_module,
    wait_until_answering,
)
from playground.telegram import Call, FakeBotAPI
from tgbot.settings import LANGUAGES

CASES = REPO / "tests" / "faq_cases"
SAFETY_CASES = REPO / "tests" / "safety_cases"
MIX = "start=22,faq=38,button=22,progress=10,help=8"
KINDS = ("start", "faq", "button", "progress", "help")
BUTTONS = ("menu:about", "menu:questions", "menu:progress", "menu:share", "menu:donate")
READY_USER = 1
BURST_USERS = 1_000_000
PACED_USERS = 2_000_000
KIND_USERS = 3_000_000
"""The first user of the by-kind bursts; each kind's users start 100,000 further on."""
QUIET = 0.5
"""Seconds without a new reply after every update got its first one: the run is over."""
TARGET_SHARE = 0.60
TARGET_P99 = 0.050
TARGET_CPU = 2.5


@dataclass(frozen=True)
class Planned:
    kind: str
    language: str
    text: str
    """The message text, or the callback data of a tap."""


@dataclass
class Pending:
    planned: Planned
    enqueued: float
    first: float | None = None
    last: float | None = None
    replies: int = 0


def faq_questions() -> dict[str, list[str]]:
    """Every test phrasing of tests/faq_cases/, by language (the `none` ones too)."""
    found = {}
    for language in LANGUAGES:
        topics = tomllib.loads((CASES / f"{language}.toml").read_text("utf-8"))["topics"]
        found[language] = [question for questions in topics.values() for question in questions]
    return found


def calls_for_help() -> dict[str, list[str]]:
    """The `help` phrasings of tests/safety_cases/, by language."""
    return {
        language: tomllib.loads((SAFETY_CASES / f"{language}.toml").read_text("utf-8"))["help"]
        for language in LANGUAGES
    }


def parse_mix(text: str) -> dict[str, float]:
    """`start=25,faq=40` -> weights by kind of update."""
    mix = {}
    for part in text.split(","):
        kind, _, weight = part.partition("=")
        if kind.strip() not in KINDS:
            raise argparse.ArgumentTypeError(f"unknown kind {kind!r}; kinds: {', '.join(KINDS)}")
        mix[kind.strip()] = float(weight or 1)
    return mix


def plan(count: int, seed: int, mix: dict[str, float]) -> list[Planned]:
    rng = random.Random(seed)  # noqa: S311 - a reproducible mix, nothing secret
    questions, calls = faq_questions(), calls_for_help()
    kinds, weights = list(mix), list(mix.values())
    planned = []
    for kind in rng.choices(kinds, weights, k=count):
        language = rng.choice(LANGUAGES)
        text = {
            "start": "/start",
            "progress": "/progress",
            "faq": rng.choice(questions[language]),
            "button": rng.choice(BUTTONS),
            "help": rng.choice(calls[language]),
        }[kind]
        planned.append(Planned(kind, language, text))
    return planned


class Tracker:
    """Attributes the emulator's calls to the updates they answer: every update comes from a
    user of its own, so a message to a chat answers that chat's update and a callback answer
    names its query."""

    def __init__(self, watcher: CallWatcher) -> None:
        self.watcher = watcher
        self.by_chat: dict[int, Pending] = {}
        self.by_query: dict[str, Pending] = {}
        self.unanswered = 0
        self.last_reply = 0.0
        self.refused: Counter[str] = Counter()
        self.untracked: Counter[int] = Counter()
        """Messages to chats with no tracked update (a flooder's, in bench.fairness)."""

    def add(self, user_id: int, pending: Pending, query_id: str | None) -> None:
        self.by_chat[user_id] = pending
        if query_id is not None:
            self.by_query[query_id] = pending
        self.unanswered += 1

    def feed(self) -> bool:
        """Read new calls; True if any of them was a reply."""
        replied = False
        for call in self.watcher.new_calls():
            pending = self._pending(call)
            if pending is None:
                continue
            replied = True
            if pending.first is None:
                pending.first = call.at
                self.unanswered -= 1
            pending.last = max(pending.last or 0.0, call.at)
            pending.replies += 1
            self.last_reply = max(self.last_reply, call.at)
        return replied

    def _pending(self, call: Call) -> Pending | None:
        if call.method == "getUpdates":
            return None
        if not call.ok:
            self.refused[f"{call.method} {call.status}"] += 1
            return None
        if call.method == "answerCallbackQuery":
            return self.by_query.get(str(call.params.get("callback_query_id")))
        if is_message(call):
            chat = call.params.get("chat_id")
            pending = self.by_chat.get(chat)
            if pending is None:
                self.untracked[chat] += 1
            return pending
        return None

    async def finish(self, child: Child, timeout: float) -> None:  # noqa: ASYNC109
        """Until every update has a reply and no reply came for `QUIET` seconds."""
        deadline = time.monotonic() + timeout
        quiet_since = time.monotonic()
        while True:
            if self.feed():
                quiet_since = time.monotonic()
            elif self.unanswered == 0 and time.monotonic() - quiet_since >= QUIET:
                return
            if child.process.returncode is not None:
                raise child.failure(f"exited with {child.process.returncode}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.unanswered} updates still unanswered after {timeout} s")
            await asyncio.sleep(0.01)


def enqueue(
    api: FakeBotAPI, user_id: int, planned: Planned, menus: dict[int, object]
) -> str | None:
    """Queue one update at the emulator; returns the callback query id of a tap."""
    user = api.make_user(user_id, language_code=planned.language)
    if planned.kind != "button":
        api.send_message(user, planned.text)
        return None
    menu = menus[user_id]
    # The echo bot's answer to /start has no buttons; the tap is the same update all the same.
    check = isinstance(menu, dict) and "reply_markup" in menu
    update = api.press_button(user, menu, planned.text, check_button=check)
    return update["callback_query"]["id"]


async def warm_up(
    api: FakeBotAPI, watcher: CallWatcher, child: Child, users: list[tuple[int, str]]
) -> dict[int, object]:
    """/start from each user who will tap a button; returns the message each got back."""
    menus: dict[int, object] = {}
    wanted = {user_id for user_id, _ in users}
    for user_id, language in users:
        api.send_message(api.make_user(user_id, language_code=language), "/start")

    def on_call(call: Call) -> bool:
        chat = call.params.get("chat_id")
        if is_message(call) and chat in wanted and chat not in menus:
            menus[chat] = call.result
        if child.process.returncode is not None:
            raise child.failure("exited during the warm-up")
        return len(menus) == len(wanted)

    if wanted:
        await watcher.until(on_call, timeout=60 + len(wanted) / 20, what="warm-up replies")
    return menus


@dataclass
class PhaseResult:
    count: int
    seconds: float
    bot_cpu: float
    emulator_cpu: float
    first: list[float]
    last: list[float]
    arrivals: float = 0.0
    """Updates queued per second (the paced phase's actual pace)."""

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


async def burst(
    api: FakeBotAPI,
    watcher: CallWatcher,
    child: Child,
    updates: list[Planned],
    menus: dict,
    first_user: int = BURST_USERS,
) -> PhaseResult:
    tracker = Tracker(watcher)
    for index, planned in enumerate(updates):
        user_id = first_user + index
        query = enqueue(api, user_id, planned, menus)
        tracker.add(user_id, Pending(planned, 0.0), query)
    started, cpu, own_cpu = time.monotonic(), child.cpu_seconds(), time.process_time()
    for pending in tracker.by_chat.values():
        pending.enqueued = started
    await tracker.finish(child, timeout=120 + len(updates) / 20)
    return PhaseResult(
        count=len(updates),
        seconds=tracker.last_reply - started,
        bot_cpu=child.cpu_seconds() - cpu,
        emulator_cpu=time.process_time() - own_cpu,
        first=[],
        last=[],
    )


async def paced(
    api: FakeBotAPI,
    watcher: CallWatcher,
    child: Child,
    updates: list[Planned],
    menus: dict,
    rate: float,
) -> PhaseResult:
    tracker = Tracker(watcher)
    started, cpu, own_cpu = time.monotonic(), child.cpu_seconds(), time.process_time()
    for index, planned in enumerate(updates):
        delay = started + index / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tracker.feed()
        user_id = PACED_USERS + index
        query = enqueue(api, user_id, planned, menus)
        tracker.add(user_id, Pending(planned, time.monotonic()), query)
    arrivals = len(updates) / max(time.monotonic() - started, 1e-9)
    await tracker.finish(child, timeout=120 + len(updates) / 20)
    answered = list(tracker.by_chat.values())
    return PhaseResult(
        count=len(updates),
        seconds=tracker.last_reply - started,
        bot_cpu=child.cpu_seconds() - cpu,
        emulator_cpu=time.process_time() - own_cpu,
        first=[p.first - p.enqueued for p in answered if p.first is not None],
        last=[p.last - p.enqueued for p in answered if p.last is not None],
        arrivals=arrivals,
    )


@dataclass
class BotResult:
    name: str
    burst: PhaseResult
    paced: PhaseResult
    kinds: dict[str, PhaseResult]
    refused: int


async def spawn(kind: str, api: FakeBotAPI, folder: Path, profile: Path | None) -> Child:
    if kind == "bot":
        env = bot_env(folder, api)
        args = python_module("tgbot")
        if profile is not None:
            args = python_module("bench.updates", "--profiled-bot", str(profile))
            env["PYTHONPATH"] = str(REPO)
        return await Child.spawn(args, env=env, cwd=folder, folder=folder, name="bot")
    concurrency = "64" if kind == "echo-concurrent" else "1"
    args = python_module(
        "bench.updates", "--echo-child", "--api-url", api.root_url, "--concurrency", concurrency
    )
    return await Child.spawn(args, env=None, cwd=REPO, folder=folder, name=kind)


async def measure(kind: str, name: str, args: argparse.Namespace) -> BotResult:
    burst_plan = plan(args.updates, args.seed, args.mix)
    paced_plan = plan(args.paced, args.seed + 1, args.mix)
    kind_plans = {
        kind: (KIND_USERS + index * 100_000, plan(args.per_kind, args.seed + 2, {kind: 1}))
        for index, kind in enumerate(args.mix)
    }
    everyone = [(BURST_USERS, burst_plan), (PACED_USERS, paced_plan), *kind_plans.values()]
    with tempfile.TemporaryDirectory() as temp:
        async with FakeBotAPI(token=TOKEN) as api:
            watcher = CallWatcher(api)
            child = await spawn(kind, api, Path(temp), args.profile)
            try:
                await wait_until_answering(api, watcher, child, READY_USER)
                tappers = [
                    (first + index, planned.language)
                    for first, updates in everyone
                    for index, planned in enumerate(updates)
                    if planned.kind == "button"
                ]
                menus = await warm_up(api, watcher, child, tappers)
                burst_result = await burst(api, watcher, child, burst_plan, menus)
                paced_result = await paced(api, watcher, child, paced_plan, menus, args.rate)
                by_kind = {
                    kind: await burst(api, watcher, child, updates, menus, first)
                    for kind, (first, updates) in kind_plans.items()
                    if updates
                }
            finally:
                code = await child.stop()
            if code not in (0, -15):
                print(f"{name}: exited with {code}:\n{child.stderr()[-2000:]}", file=sys.stderr)
            refused = len(api.violations)
    result = BotResult(name, burst_result, paced_result, by_kind, refused)
    report(result)
    return result


def report(result: BotResult) -> None:
    b, p = result.burst, result.paced
    print(
        f"{result.name}: burst of {b.count} in {b.seconds:.2f} s = {b.rate:.0f} updates/s;"
        f" CPU per update: bot {b.bot_cpu / b.count * 1000:.2f} ms,"
        f" emulator {b.emulator_cpu / b.count * 1000:.2f} ms"
    )
    print(
        f"{result.name}: {p.count} paced at {p.arrivals:.0f}/s: first reply"
        f" p50 {ms(statistics.median(p.first))}, p99 {ms(percentile(p.first, 0.99))},"
        f" max {ms(max(p.first))}; last reply p50 {ms(statistics.median(p.last))},"
        f" p99 {ms(percentile(p.last, 0.99))}; requests Telegram would refuse: {result.refused}"
    )
    if result.kinds:
        print(
            f"{result.name}: CPU per update by kind: "
            + ", ".join(f"{kind} {cpu_ms(phase):.2f} ms" for kind, phase in result.kinds.items())
        )


def cpu_ms(phase: PhaseResult) -> float:
    return phase.bot_cpu / phase.count * 1000


def compare(bot: BotResult, baselines: list[BotResult]) -> None:
    p99 = percentile(bot.paced.first, 0.99)
    for baseline in baselines:
        share = bot.burst.rate / baseline.burst.rate
        cpu = bot.burst.bot_cpu / max(baseline.burst.bot_cpu, 1e-9)
        verdict = "OK" if share >= TARGET_SHARE else "BELOW TARGET"
        print(
            f"bot vs {baseline.name}: throughput {share:.0%} (target >= {TARGET_SHARE:.0%}:"
            f" {verdict}); CPU per update x{cpu:.1f}; first-reply p99"
            f" {ms(p99)} vs {ms(percentile(baseline.paced.first, 0.99))}"
        )
    sequential = baselines[0]
    for kind, phase in bot.kinds.items():
        ratio = cpu_ms(phase) / max(cpu_ms(sequential.kinds[kind]), 1e-9)
        verdict = "OK" if ratio <= TARGET_CPU else "ABOVE TARGET"
        print(
            f"bot vs {sequential.name}, {kind}: CPU per update {cpu_ms(phase):.2f} ms vs"
            f" {cpu_ms(sequential.kinds[kind]):.2f} ms = x{ratio:.2f} (target <= x{TARGET_CPU:g}:"
            f" {verdict})"
        )
    verdict = "OK" if p99 < TARGET_P99 else "ABOVE TARGET"
    print(f"bot: first-reply p99 {ms(p99)} (target < {ms(TARGET_P99)}: {verdict})")


async def main(args: argparse.Namespace) -> None:
    mix = Counter(planned.kind for planned in plan(args.updates, args.seed, args.mix))
    print(
        f"updates: {args.updates} burst + {args.paced} paced at {args.rate:g}/s, one user each;"
        f" mix {describe_counts(sorted(mix.items()))}; bot = `python -m tgbot` in its own"
        " process, emulator in this one"
    )
    bot = await measure("bot", "bot", args)
    if args.bot_only:
        return
    baselines = [await measure("echo", "echo (PTB defaults)", args)]
    if not args.no_concurrent_echo:
        baselines.append(await measure("echo-concurrent", "echo (64 concurrent)", args))
    compare(bot, baselines)


def echo_child(api_url: str, concurrency: int) -> None:
    """The baseline bot: python-telegram-bot with one echo handler and one tap handler."""
    from telegram import Update
    from telegram.ext import ApplicationBuilder, CallbackQueryHandler, MessageHandler, filters

    from tgbot.runtime.app import GET_UPDATES_TIMEOUT

    builder = ApplicationBuilder().token(TOKEN).base_url(f"{api_url}/bot")
    if concurrency > 1:
        builder = builder.concurrent_updates(concurrency)
    application = builder.build()

    async def echo(update: Update, _: object) -> None:
        await update.effective_message.reply_text(update.effective_message.text)

    async def answer(update: Update, _: object) -> None:
        await update.callback_query.answer()

    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.add_handler(CallbackQueryHandler(answer))
    application.run_polling(
        poll_interval=0, timeout=GET_UPDATES_TIMEOUT, allowed_updates=Update.ALL_TYPES
    )


def profiled_bot(output: Path) -> None:
    """`python -m tgbot` under a profiler: cProfile's statistics (sorted by own time) for an
    output ending in `.txt`, else pyinstrument's call tree of the event loop's thread."""
    from tgbot.__main__ import main as bot_main

    if output.suffix == ".txt":
        import cProfile
        import io
        import pstats

        profile = cProfile.Profile()
        try:
            profile.runcall(bot_main, [])
        finally:
            text = io.StringIO()
            stats = pstats.Stats(profile, stream=text)
            stats.sort_stats("tottime").print_stats(45)
            stats.sort_stats("cumulative").print_stats(60)
            output.write_text(text.getvalue(), "utf-8")
        return
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.002, async_mode="disabled")
    profiler.start()
    try:
        bot_main([])
    finally:
        profiler.stop()
        output.write_text(profiler.output_text(show_all=True, color=False), "utf-8")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=10_000, help="burst size (10000)")
    parser.add_argument("--paced", type=int, default=2_000, help="paced updates (2000)")
    parser.add_argument("--rate", type=float, default=100.0, help="paced updates/s (100)")
    parser.add_argument(
        "--mix", type=parse_mix, default=parse_mix(MIX), help=f"kinds of update and weights ({MIX})"
    )
    parser.add_argument(
        "--per-kind", type=int, default=1000, help="updates per kind in the by-kind bursts (1000)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--no-concurrent-echo", action="store_true", help="skip the concurrent echo baseline"
    )
    parser.add_argument(
        "--profile",
        type=lambda path: Path(path).resolve(),
        help="profile the bot's process into this file: cProfile statistics for a .txt file,"
        " else a pyinstrument call tree (if installed)",
    )
    parser.add_argument(
        "--bot-only", action="store_true", help="skip the baselines (for profiling)"
    )
    parser.add_argument("--echo-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--profiled-bot", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--api-url", help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, default=1, help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.echo_child:
        echo_child(arguments.api_url, arguments.concurrency)
    elif arguments.profiled_bot:
        profiled_bot(arguments.profiled_bot)
    else:
        asyncio.run(main(arguments))
