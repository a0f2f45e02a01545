"""`python -m playground`: try the bot in a browser with emulated Telegram and Stripe.

Run it from a checkout (`python3 dev.py run` does): the playground is not part of the bot's
installed package.
"""

import argparse
import asyncio
import errno
import sys

from playground.run import DATABASE, PEOPLE, run_playground
from tgbot.runtime.logs import setup_logging

EXIT_CONFIG = 2
DEFAULT_PORT = 8000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m playground",
        description="The real bot against local emulators of Telegram and Stripe, with a web "
        "page to chat with it as several people at once. Needs no settings.",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"web page port ({DEFAULT_PORT}; 0: any)"
    )
    parser.add_argument(
        "--reset",
        action="store_true",
        help=f"start afresh: delete the playground's database ({DATABASE}) and its people "
        f"({PEOPLE}), which are otherwise kept from the last run",
    )
    arguments = parser.parse_args(argv)
    port = arguments.port
    setup_logging("INFO", secrets=[])
    try:
        asyncio.run(run_playground(port, fresh=arguments.reset))
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        print(f"Port {port} is in use: choose another with --port.", file=sys.stderr)
        return EXIT_CONFIG
    return 0


if __name__ == "__main__":
    sys.exit(main())
