"""Helpers the benchmarks share: child processes, CPU and memory readings, percentiles.

The benchmarks put the bot in a process of its own and keep the emulated Telegram Bot API
(and Stripe) in the benchmark's process, so that the emulators' CPU time and memory are not
counted as the bot's: on a machine with two cores each side gets one.
"""

import asyncio
import contextlib
import math
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import BinaryIO

from playground.telegram import MESSAGE_METHODS, Call, FakeBotAPI

REPO = Path(__file__).resolve().parent.parent
TOKEN = "123456:BENCH-token_abcdefghijklmnop"  # noqa: S105 - the emulator's, not a secret
EMERGENCY = "Bench hotline: +1 555 0102"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (`share` in 0..1) of `values`; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.1f} ms"


def bot_env(folder: Path, api: FakeBotAPI, **settings: object) -> dict[str, str]:
    """Environment for `python -m tgbot` (as tests/test_process.py's `live_env` builds it):
    nothing inherited that could configure the bot, the emulator's address, a database in
    `folder` and a free port for the bot's HTTP server."""
    env = {key: value for key, value in os.environ.items() if key in ("PATH", "HOME", "LANG")}
    values: dict[str, object] = {
        "bot_token": TOKEN,
        "emergency_contact_text": EMERGENCY,
        "telegram_api_url": api.root_url,
        "database_path": folder / "data" / "bot.sqlite3",
        "port": free_port(),
    }
    env |= {key.upper(): str(value) for key, value in (values | settings).items()}
    return env


class Child:
    """A child process whose output goes to files (a full pipe would block it)."""

    def __init__(self, process: asyncio.subprocess.Process, folder: Path, name: str) -> None:
        self.process = process
        self.folder = folder
        self.name = name

    @classmethod
    async def spawn(
        cls, args: Sequence[str], *, env: dict[str, str] | None, cwd: Path, folder: Path, name: str
    ) -> "Child":
        out, err = _log_files(folder, name)
        with out, err:
            process = await asyncio.create_subprocess_exec(
                *args, cwd=cwd, env=env, stdout=out, stderr=err
            )
        return cls(process, folder, name)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stdout(self) -> str:
        return (self.folder / f"{self.name}.out").read_text("utf-8", "replace")

    def stderr(self) -> str:
        return (self.folder / f"{self.name}.err").read_text("utf-8", "replace")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far (all its threads); NaN if unknown."""
        return process_cpu_seconds(self.pid)

    def peak_rss_mb(self) -> float:
        """The process's peak resident set size so far (VmHWM), in MB; NaN if unknown."""
        return proc_status_mb(self.pid, "VmHWM")

    def rss_mb(self) -> float:
        return proc_status_mb(self.pid, "VmRSS")

    async def idle(self, seconds: float, *, busy: float = 0.05, window: float = 0.5) -> bool:
        """Wait until the process uses less than `busy` of a core over `window` seconds;
        False if it is still busy after `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            before = self.cpu_seconds()
            await asyncio.sleep(window)
            if self.cpu_seconds() - before < busy * window:
                return True
        return False

    async def stop(self) -> int:
        """SIGTERM, then SIGKILL if it does not exit in time; returns the exit code."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        return self.process.returncode

    def failure(self, what: str) -> RuntimeError:
        tail = "\n".join(self.stderr().splitlines()[-30:])
        return RuntimeError(f"{self.name}: {what}\n--- its stderr (last lines) ---\n{tail}")


def _log_files(folder: Path, name: str) -> tuple[BinaryIO, BinaryIO]:
    folder.mkdir(parents=True, exist_ok=True)
    return (folder / f"{name}.out").open("wb"), (folder / f"{name}.err").open("wb")


def process_cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    # after the ")" closing the name: state is field 3, utime field 14, stime field 15
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def proc_status_mb(pid: int | str, key: str) -> float:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return math.nan
    for line in lines:
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) / 1024
    return math.nan


class CallWatcher:
    """Reads the emulator's calls as they come, each once (the emulator's own `wait_for_*`
    rescan every recorded message on every call, which is quadratic over a benchmark)."""

    def __init__(self, api: FakeBotAPI) -> None:
        self.api = api
        self.seen = len(api.calls)

    def new_calls(self) -> list[Call]:
        calls = self.api.calls[self.seen :]
        self.seen += len(calls)
        return calls

    async def until(
        self,
        on_call: Callable[[Call], bool],
        *,
        timeout: float,  # noqa: ASYNC109 - a deadline, not a cancel scope
        what: str,
        interval: float = 0.01,
    ) -> None:
        """Feed new calls to `on_call` until it returns True; raise after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            if any([on_call(call) for call in self.new_calls()]):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
            await asyncio.sleep(interval)


def is_message(call: Call) -> bool:
    """An accepted message sent or edited by the bot."""
    return call.ok and call.method in MESSAGE_METHODS


async def wait_until_answering(
    api: FakeBotAPI,
    watcher: CallWatcher,
    child: Child,
    user_id: int,
    *,
    seconds: float = START_TIMEOUT,
) -> float:
    """Send /start from `user_id` and wait for the bot in `child` to answer it (it is up and
    polling); fail fast if the process dies. Returns the seconds it took."""
    started = time.monotonic()
    api.send_message(api.make_user(user_id, language_code="en"), "/start")
    deadline = started + seconds
    while True:
        if any(is_message(c) and c.params.get("chat_id") == user_id for c in watcher.new_calls()):
            return time.monotonic() - started
        if child.process.returncode is not None:
            raise child.failure(f"exited with {child.process.returncode} before answering")
        if time.monotonic() > deadline:
            raise child.failure("did not answer /start in time")
        await asyncio.sleep(0.01)


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def describe_counts(counts: Iterable[tuple[str, int]]) -> str:
    return ", ".join(f"{name} {count}" for name, count in counts)
