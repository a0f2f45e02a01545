#!/usr/bin/env python3
"""Run the bot or its tests from a fresh checkout with nothing but python3.

    python3 dev.py run     # the playground: the bot with emulated Telegram and Stripe
                           # (--port N: another port than 8000; --reset: start afresh)
    python3 dev.py test    # the test suite (extra arguments go to pytest); its browser
                           # tests need a Chromium: the system's, or run once
                           # `.venv/bin/python -m playwright install chromium`
    python3 dev.py bot     # the bot for real (settings from the environment or .env)

`run` and `test` share `.venv`, the project with its dev tools; `bot` uses `.venv-bot`, the
bot alone, as a production install has it. Both take the versions pinned in
requirements.lock, so the tests run what production runs. The first call creates the
environment; later calls reinstall only when pyproject.toml or requirements.lock changed.
"""

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
LOCK = ROOT / "requirements.lock"
COMMANDS = {
    "run": ["-m", "playground"],
    "test": ["-m", "pytest"],
    "bot": ["-m", "tgbot"],
}
ENVIRONMENTS = {"run": (".venv", "[dev]"), "test": (".venv", "[dev]"), "bot": (".venv-bot", "")}
"""Each command's virtual environment and the extras installed into it."""


def python_in(folder: Path) -> Path:
    return folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_environment(name: str, extras: str) -> Path:
    """The environment's python, (re)installed when the project's requirements changed."""
    folder = ROOT / name
    python, stamp = python_in(folder), folder / ".installed-from"
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + LOCK.read_bytes())
    if python.exists() and stamp.exists() and stamp.read_text() == wanted.hexdigest():
        return python
    if not python.exists():
        print(f"Creating {name} ...", file=sys.stderr)
        venv.create(folder, with_pip=True)
    print(f"Installing appeal-bot into {name} ...", file=sys.stderr)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    project = [*pip, "--constraint", str(LOCK), "--editable", f"{ROOT}{extras}"]
    subprocess.run(project, check=True)  # noqa: S603
    stamp.write_text(wanted.hexdigest())
    return python


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    python = ensure_environment(*ENVIRONMENTS[sys.argv[1]])
    command = [str(python), *COMMANDS[sys.argv[1]], *sys.argv[2:]]
    os.chdir(ROOT)
    if os.name == "nt":
        return subprocess.call(command)  # noqa: S603
    os.execv(command[0], command)  # noqa: S606  (hands signals straight to the bot)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
