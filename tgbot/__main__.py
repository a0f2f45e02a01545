"""`python -m tgbot` / `appeal-bot`: run the bot."""

import argparse
import asyncio
import sys
from pathlib import Path

from telegram.error import InvalidToken

from tgbot import __version__
from tgbot.runtime.logs import setup_logging
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
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("run", help="run the bot (the default)")
    commands.add_parser("reconcile", help="apply Stripe events that webhooks missed, then exit")
    commands.add_parser(
        "check", help="check the settings, Telegram and Stripe before going live, then exit"
    )
    backup = commands.add_parser(
        "backup", help="copy the database consistently, even while the bot runs"
    )
    backup.add_argument("path", type=Path, help="file to write the copy to")
    arguments = parser.parse_args(argv)
    command = arguments.command or "run"
    try:
        settings = load_settings()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return EXIT_CONFIG
    setup_logging(settings.log_level, secrets=_secrets(settings))
    if command == "reconcile" and not settings.donations_enabled:
        print("Configuration error: STRIPE_SECRET_KEY: required to reconcile", file=sys.stderr)
        return EXIT_CONFIG

    if command == "backup":
        return _backup(settings.database_path, arguments.path)
    if command == "check":
        return asyncio.run(_check(settings))

    from tgbot.runtime import runner  # imported late: configuration errors should answer fast

    try:
        if command == "reconcile":
            return asyncio.run(_reconcile(settings))
        asyncio.run(runner.run(settings))
    except DatabaseError as error:
        print(f"Database error: {error}", file=sys.stderr)
        return 1
    except runner.PortInUse as taken:
        print(f"{taken} is in use by another program: set PORT (or HOST).", file=sys.stderr)
        return EXIT_CONFIG
    except InvalidToken:
        print(
            "BOT_TOKEN: Telegram refused this token; get it again from @BotFather.", file=sys.stderr
        )
        return EXIT_CONFIG
    return 0


def _backup(database: Path, target: Path) -> int:
    from tgbot.storage.backup import BackupError, backup

    try:
        size = backup(database, target)
    except BackupError as error:
        print(f"Backup failed: {error}", file=sys.stderr)
        return 1
    print(f"Backed up {database} to {target} ({size:,} bytes).")
    return 0


async def _reconcile(settings: Settings) -> int:
    from tgbot.runtime import runner

    async with runner.open_services(settings) as services:
        report = await runner.reconcile_once(services)
    if report is None:
        return 1
    print(
        f"Read {report.events_read} Stripe events, applied {report.events_applied} new ones."
        + (" Thank-you messages are due; the running bot sends them." if report.thanks_due else "")
    )
    for event_id, kind in report.unreadable:
        print(f"Stripe event {event_id} ({kind or '?'}) could not be read after every try.")
    return 0


async def _check(settings: Settings) -> int:
    from tgbot.runtime import preflight

    sys.stdout.reconfigure(errors="replace")  # type: ignore[union-attr]  # ✓ on any terminal
    checks = await preflight.run_checks(settings, lambda check: print(check.line, flush=True))
    return 0 if preflight.passed(checks) else 1


def _secrets(settings: Settings) -> list[str]:
    values = [
        settings.bot_token,
        settings.webhook_secret,
        settings.stripe_secret_key,
        settings.stripe_webhook_secret,
    ]
    return [value.get_secret_value() for value in values if value is not None]


if __name__ == "__main__":
    sys.exit(main())
