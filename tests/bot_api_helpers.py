"""What the fake Bot API tests (test_fake_bot_api_*.py) share.

Fixtures for the fake itself, raw HTTP to it, a python-telegram-bot ``Bot`` on it and a user
whose private chat it knows, and an inline keyboard builder.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from playground.telegram import FakeBotAPI

USER_ID = 1001


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as fake:
        yield fake


@pytest.fixture
async def http(api: FakeBotAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"{api.base_url}{api.token}/") as client:
        yield client


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    async with Bot(api.token, base_url=api.base_url) as telegram_bot:
        yield telegram_bot


@pytest.fixture
def user(api: FakeBotAPI) -> dict[str, Any]:
    """A user who has written to the bot, so their private chat is known."""
    person = api.make_user(USER_ID, first_name="Ann")
    api.send_message(person, "hi")
    return person


def keyboard(*buttons: InlineKeyboardButton) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([list(buttons)])
