"""appeal-bot: a Telegram bot for the Chechnya Crisis Appeal."""

import os
from importlib.metadata import PackageNotFoundError, version

# python-telegram-bot 22 reports time periods (RetryAfter.retry_after) as timedelta when this
# is set, and its next major version always will; without it every 429 logs a deprecation.
os.environ.setdefault("PTB_TIMEDELTA", "true")

try:
    __version__ = version("appeal-bot")
except PackageNotFoundError:  # running from a checkout without installing
    __version__ = "0.0.0+local"
