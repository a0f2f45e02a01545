"""The Telegram Bot API emulator: real HTTP, Telegram's limits and error shapes."""

from playground.telegram.api import DEFAULT_TOKEN, FakeBotAPI
from playground.telegram.errors import BotAPIError
from playground.telegram.limits import FloodEvent
from playground.telegram.routing import Call, UploadedFile
from playground.telegram.state import MESSAGE_METHODS, SentMessage

__all__ = [
    "DEFAULT_TOKEN",
    "MESSAGE_METHODS",
    "BotAPIError",
    "Call",
    "FakeBotAPI",
    "FloodEvent",
    "SentMessage",
    "UploadedFile",
]
