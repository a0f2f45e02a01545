"""`python -m playground`: try the bot in a browser with emulated Telegram and Stripe.

Run it from a checkout (`python3 dev.py run` does): the playground is not part of the bot's
installed package.
"""

import argparse
import asyncio
import errno
import sys

from playground.run import run_playground
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
    port = parser.parse_args(argv).port
    setup_logging("INFO", secrets=[])
    try:
        asyncio.run(run_playground(port))
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        print(f"Port {port} is in use: choose another with --port.", file=sys.stderr)
        return EXIT_CONFIG
    return 0


if __name__ == "__main__":
    sys.exit(main())
