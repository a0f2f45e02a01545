"""appeal-bot: a Telegram bot for the Chechnya Crisis Appeal."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("appeal-bot")
except PackageNotFoundError:  # running from a checkout without installing
    __version__ = "0.0.0+local"
