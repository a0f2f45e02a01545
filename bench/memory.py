"""Resident memory of the bot against the number of distinct people it has answered.

    .venv/bin/python -m bench.memory [--people 1000,10000,100000] [--batch 500]

The bot runs as production runs it (`python -m tgbot`, polling, SQLite) against the emulated
Bot API served from this process. Each person sends one FAQ question from tests/faq_cases/
(the path that used to leave an entry in python-telegram-bot's `user_data` for everyone),
in batches that are answered before the next is sent. After each mark the bot is let go idle
and its resident set size (VmRSS) is read. Baseline in the same run: the first mark (1,000
people by default). Target (issue 11/15): at 100k people at most 1.3x the 10k figure, and
under 200 MB.
"""

import argparse
import asyncio
import tempfile
from pathlib import Path

from bench.common import (
    TOKEN,
    CallWatcher,
    Child,
    bot_env,
    is_message,
    python_module,
    wait_until_answering,
)
from bench.updates import faq_questions
from playground.telegram import FakeBotAPI

FIRST_USER = 1_000_000
ANSWER_TIMEOUT = 120.0


async def answered(watcher: CallWatcher, child: Child, waiting: set[int]) -> None:
    """Wait until every chat in `waiting` got a message (or fail if the bot died)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ANSWER_TIMEOUT
    while waiting:
        for call in watcher.new_calls():
            if is_message(call):
                waiting.discard(call.params.get("chat_id"))
        if child.process.returncode is not None:
            raise child.failure("exited while answering")
        if loop.time() > deadline:
            raise child.failure(f"{len(waiting)} people got no answer in time")
        await asyncio.sleep(0.02)


async def main(marks: list[int], batch: int) -> None:
    questions = [q for group in faq_questions().values() for q in group]
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        async with FakeBotAPI(token=TOKEN) as api:
            watcher = CallWatcher(api)
            child = await Child.spawn(
                python_module("tgbot"), env=bot_env(folder, api), cwd=folder, folder=folder,
                name="bot",
            )  # fmt: skip
            try:
                await wait_until_answering(api, watcher, child, FIRST_USER - 1)
                figures: dict[int, float] = {}
                sent = 0
                for mark in marks:
                    while sent < mark:
                        size = min(batch, mark - sent)
                        people = range(FIRST_USER + sent, FIRST_USER + sent + size)
                        for user_id in people:
                            user = api.make_user(user_id, language_code="en")
                            api.send_message(user, questions[user_id % len(questions)])
                        await answered(watcher, child, set(people))
                        sent += size
                    await child.idle(30)
                    figures[mark] = child.rss_mb()
                    print(f"memory: {mark:,} people answered: RSS {figures[mark]:.1f} MB")
            finally:
                await child.stop()
    base = marks[0]
    for mark in marks[1:]:
        growth = figures[mark] / figures[base]
        print(f"memory: {mark:,} vs {base:,} people (baseline): x{growth:.2f}")
    if 10_000 in figures and 100_000 in figures:
        ratio = figures[100_000] / figures[10_000]
        verdict = "OK" if ratio <= 1.3 and figures[100_000] < 200 else "ABOVE TARGET"
        print(f"memory: 100,000 vs 10,000 people: x{ratio:.2f} (target <= 1.3 and < 200 MB: "
              f"{verdict})")  # fmt: skip


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", default="1000,10000,100000", help="marks, comma-separated")
    parser.add_argument("--batch", type=int, default=500, help="people sent at once (500)")
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    asyncio.run(main(sorted(int(n) for n in arguments.people.split(",")), arguments.batch))
