"""Logging that keeps secrets and message texts out of the log.

The Bot API puts the token in every URL and HTTP clients log request URLs (httpx at INFO),
so HTTP client loggers (aiohttp for Telegram, httpx for Stripe) are held at WARNING;
python-telegram-bot logs request parameters (message texts) at DEBUG, so its loggers are
held at INFO. As a second guard, the formatter masks configured secrets anywhere in a
formatted record, tracebacks included.
"""

import logging
from collections.abc import Iterable

MASK = "[secret]"
FLOORS = {
    "aiohttp": logging.WARNING,
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "uvicorn.access": logging.WARNING,
    "stripe": logging.WARNING,
    "telegram": logging.INFO,
    "aiosqlite": logging.INFO,
}


class RedactingFormatter(logging.Formatter):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.secrets = [secret for secret in secrets if secret]

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text


def hold_chatty_loggers(level: str) -> None:
    """Keep loggers that write URLs, parameters or SQL at or above their floor."""
    numeric_level = logging.getLevelName(level)
    for name, floor in FLOORS.items():
        logging.getLogger(name).setLevel(max(floor, numeric_level))


def setup_logging(level: str, secrets: Iterable[str]) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter(secrets))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    hold_chatty_loggers(level)
