#!/usr/bin/env python3
"""Run the bot or its tests from a fresh checkout with nothing but python3.

    python3 dev.py run     # the playground: the bot with emulated Telegram and Stripe
                           # (--port N: another port than 8000; --reset: start afresh)
    python3 dev.py test    # the test suite (extra arguments go to pytest); its browser
                           # tests need a Chromium: the system's, or run once
                           # `.venv/bin/python -m playwright install chromium`
    python3 dev.py bot     # the bot for real (settings from the environment or .env)

The first call creates `.venv` and installs the project with its dev tools; later calls
reinstall only when pyproject.toml has changed.
"""

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
STAMP = VENV / ".installed-from"
COMMANDS = {
    "run": ["-m", "playground"],
    "test": ["-m", "pytest"],
    "bot": ["-m", "tgbot"],
}


def ensure_environment() -> None:
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if PYTHON.exists() and STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not PYTHON.exists():
        print("Creating .venv ...", file=sys.stderr)
        venv.create(VENV, with_pip=True)
    print("Installing appeal-bot and its dependencies into .venv ...", file=sys.stderr)
    pip = [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--editable", f"{ROOT}[dev]"], check=True)  # noqa: S603
    STAMP.write_text(wanted)


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    ensure_environment()
    command = [str(PYTHON), *COMMANDS[sys.argv[1]], *sys.argv[2:]]
    os.chdir(ROOT)
    if os.name == "nt":
        return subprocess.call(command)  # noqa: S603
    os.execv(command[0], command)  # noqa: S606  (hands signals straight to the bot)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
