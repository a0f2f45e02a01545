"""Start-up: from spawning `python -m tgbot` to the bot asking Telegram for updates.

    .venv/bin/python -m bench.startup [--runs 5]

Each run starts a fresh emulated Bot API (FakeBotAPI) in this process, queues a /start from a
user there (so that the bot's first getUpdates is answered at once and its `Call.at` is when
it arrived), and spawns `python -m tgbot` with the environment tests/test_process.py's
`live_env` builds (BOT_TOKEN, EMERGENCY_CONTACT_TEXT, TELEGRAM_API_URL pointing at the
emulator, DATABASE_PATH in a new temporary folder, so the schema is created, and a free PORT).
Measured from just before the spawn: the first request to the emulator (getMe), the first
getUpdates, and the reply to the queued /start; then SIGTERM to exit. Median and max over
`--runs`. Baseline, in the same run: `python -c "import telegram"` from spawn to exit (and
`python -c pass`, the interpreter alone).
"""

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.common import TOKEN, CallWatcher, Child, bot_env, is_message, python_module
from playground.telegram import Call, FakeBotAPI

USER = 42
START_TIMEOUT = 60.0


async def one_start(run: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        async with FakeBotAPI(token=TOKEN) as api:
            api.send_message(api.make_user(USER, language_code="en"), "/start")
            watcher = CallWatcher(api)
            env = bot_env(folder, api)
            started = time.monotonic()
            bot = await Child.spawn(
                python_module("tgbot"), env=env, cwd=folder, folder=folder, name=f"bot{run}"
            )
            seen: dict[str, float] = {}

            def on_call(call: Call) -> bool:
                seen.setdefault("first request", call.at)
                if call.method == "getUpdates":
                    seen.setdefault("first getUpdates", call.at)
                if is_message(call) and call.params.get("chat_id") == USER:
                    seen.setdefault("reply to /start", call.at)
                if bot.process.returncode is not None:
                    raise bot.failure(f"exited with {bot.process.returncode}")
                return "reply to /start" in seen

            try:
                await watcher.until(on_call, timeout=START_TIMEOUT, what="the bot", interval=0.002)
                stopping = time.monotonic()
            finally:
                code = await bot.stop()
            if code != 0:
                raise bot.failure(f"exited with {code}")
            figures = {name: at - started for name, at in seen.items()}
            figures["SIGTERM to exit"] = time.monotonic() - stopping
            return figures


async def spawn_to_exit(*args: str) -> float:
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(sys.executable, *args)
    if await process.wait() != 0:
        raise RuntimeError(f"{args} failed")
    return time.monotonic() - started


def describe(name: str, values: list[float]) -> str:
    return f"{name}: median {statistics.median(values):.3f} s, max {max(values):.3f} s"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"startup: {args.runs} runs each, times from spawning the process")
    runs = [await one_start(run) for run in range(args.runs)]
    for name in ("first request", "first getUpdates", "reply to /start", "SIGTERM to exit"):
        print(describe(f"python -m tgbot, {name}", [run[name] for run in runs]))
    imports = [await spawn_to_exit("-c", "import telegram") for _ in range(args.runs)]
    print(describe('baseline: python -c "import telegram", spawn to exit', imports))
    bare = [await spawn_to_exit("-c", "pass") for _ in range(args.runs)]
    print(describe('baseline: python -c "pass", spawn to exit', bare))
    ratio = statistics.median(run["first getUpdates"] for run in runs) / statistics.median(imports)
    print(f"first getUpdates vs importing telegram: x{ratio:.1f}")


if __name__ == "__main__":
    asyncio.run(main())
