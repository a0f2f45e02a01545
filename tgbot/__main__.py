"""`python -m tgbot` / `appeal-bot`: run the bot."""

import argparse
import asyncio
import sys

from tgbot import __version__
from tgbot.logs import setup_logging
from tgbot.settings import Settings, SettingsError, load_settings
from tgbot.storage import DatabaseError

EXIT_CONFIG = 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="appeal-bot",
        description="Telegram bot for the Chechnya Crisis Appeal. Settings come from the "
        "environment or a .env file; see .env.example.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return EXIT_CONFIG
    setup_logging(settings.log_level, secrets=_secrets(settings))

    from tgbot.runner import run  # imported late: configuration errors should answer fast

    try:
        asyncio.run(run(settings))
    except DatabaseError as error:
        print(f"Database error: {error}", file=sys.stderr)
        return 1
    return 0


def _secrets(settings: Settings) -> list[str]:
    values = [settings.bot_token, settings.webhook_secret]
    return [value.get_secret_value() for value in values if value is not None]


if __name__ == "__main__":
    sys.exit(main())
