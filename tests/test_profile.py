"""The command menu and descriptions published per language at start-up."""

import logging

from telegram import Bot

from handlers.fallback import COMMANDS
from handlers.profile import publish_profile
from tests.conftest import TOKEN
from tgbot.settings import LANGUAGES
from tgbot.text.i18n import texts


async def test_commands_and_descriptions_are_published_in_every_language(bot_api):
    async with Bot(TOKEN, base_url=bot_api.base_url) as bot:
        assert await publish_profile(bot, default_language="ru", admin_ids=()) is True
    for language in LANGUAGES:
        commands = bot_api.commands[("all_private_chats", language)]
        assert [c["command"] for c in commands] == list(COMMANDS)
        assert commands[0]["description"] == texts(language)("commands.start")
        assert bot_api.descriptions[language] == texts(language)("bot.description")
    default = bot_api.commands[("all_private_chats", "")]
    assert default[0]["description"] == texts("ru")("commands.start")


async def test_a_failure_is_a_warning_and_the_rest_is_still_published(bot_api, caplog):
    caplog.set_level(logging.WARNING)
    bot_api.fail_next("setMyCommands", 500, "Internal Server Error")
    async with Bot(TOKEN, base_url=bot_api.base_url) as bot:
        assert await publish_profile(bot, default_language="en", admin_ids=()) is False
    (warning,) = caplog.records
    assert warning.levelno == logging.WARNING
    assert "language en" in warning.getMessage()
    assert ("all_private_chats", "ru") in bot_api.commands
