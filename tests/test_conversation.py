"""Conversations with the real Application over HTTP, against the fake Bot API."""

import logging

import pytest

from handlers.notes import faq_values
from handlers.privacy import privacy_text
from playground.telegram.html import parse_html
from tests.conftest import EMERGENCY, EMERGENCY_RU, TOKEN
from tgbot.settings import LANGUAGES, load_settings
from tgbot.text.faq import default_faq
from tgbot.text.i18n import texts

COST_QUESTIONS = {
    "en": "how much does it cost to save one person?",
    "ru": "сколько стоит спасти одного человека?",
    "de": "Wie viel kostet es, einen Menschen zu retten?",
    "fr": "combien coûte le sauvetage d'une personne ?",
    "es": "¿cuánto cuesta salvar a una persona?",
}
COST_FIGURES = ("4,555", "4555", "4 555", "4.555", "4\u00a0555", "4\u202f555")


def visible(html: str) -> str:
    """What a user sees of a Telegram HTML text."""
    return parse_html(html)[0]


def plain(language: str, key: str, **params) -> str:
    return visible(texts(language)(key, **params))


def contact_for(language: str) -> str:
    return EMERGENCY_RU if language == "ru" else EMERGENCY


def with_emergency_line(language: str, key: str) -> str:
    """What a user sees of a reply that carries the emergency line (errors, slow down)."""
    t = texts(language)
    return visible(f"{t(key)}\n\n{t('safety.line', contact=contact_for(language))}")


def answer(language: str, topic: str) -> str:
    settings = load_settings(bot_token=TOKEN, emergency_contact_text=EMERGENCY, _env_file=None)
    values = faq_values(texts(language), settings)
    return visible(default_faq().topic(language, topic).answer.format(**values))


def button_data(sent) -> list[str]:
    return [button.get("callback_data") for button in sent.buttons]


async def say(bot, user, text: str):
    bot.api.send_message(user, text)
    return await bot.api.wait_for_message(user["id"])


async def press(bot, user, sent, data: str, *, check_button: bool = True):
    bot.api.press_button(user, sent, data, check_button=check_button)
    return await bot.api.wait_for_call("answerCallbackQuery")


async def test_start_greets_a_russian_client_in_russian_with_the_main_menu(bot):
    user = bot.api.make_user(1, language_code="ru")
    reply = await say(bot, user, "/start")
    assert reply.text == plain("ru", "start.greeting")
    assert button_data(reply) == [
        "menu:about", "menu:questions", "menu:donate", "menu:progress",
        "menu:subscription", "menu:share", "menu:language",
    ]  # fmt: skip
    assert reply.buttons[4]["text"] == texts("ru")("menu.subscribe")


@pytest.mark.parametrize(("client", "expected"), [("de-AT", "de"), ("pt-br", "en"), (None, "en")])
async def test_first_contact_uses_the_client_language_or_the_default(bot, client, expected):
    user = bot.api.make_user(2, language_code=client)
    reply = await say(bot, user, "/help")
    assert reply.text == plain(expected, "help.text")
    assert await bot.storage.users.get(2) is None  # nothing stored for a mere visit


async def test_language_choice_is_stored_and_wins_over_the_client(bot):
    user = bot.api.make_user(3, language_code="en")
    picker = await say(bot, user, "/language")
    assert button_data(picker) == [f"lang:{code}" for code in LANGUAGES]
    await press(bot, user, picker, "lang:fr")
    confirmation = await bot.api.wait_for_message(3)
    assert confirmation.text == plain("fr", "language.changed")
    assert (await bot.storage.users.get(3)).language == "fr"
    assert (await say(bot, user, "/help")).text == plain("fr", "help.text")


@pytest.mark.parametrize("argument", ["ru", "RU", "Русский", "ru-RU"])
async def test_language_shortcut_accepts_codes_and_names(bot, argument):
    user = bot.api.make_user(4, language_code="en")
    reply = await say(bot, user, f"/language {argument}")
    assert reply.text == plain("ru", "language.changed")


async def test_unknown_language_is_explained_with_the_picker(bot):
    user = bot.api.make_user(5, language_code="de")
    reply = await say(bot, user, "/language <b>klingon</b>")
    available = ", ".join(f"{texts(c)('language.name')} ({c})" for c in LANGUAGES)
    expected = plain("de", "language.unknown", code="<b>klingon</b>", available=available, count=5)
    assert reply.text == expected  # the tags arrive as text: escaped in the HTML
    assert "5 Sprachen" in reply.text
    assert button_data(reply)[0] == "lang:en"
    assert await bot.storage.users.get(5) is None


@pytest.mark.parametrize(
    ("payload", "key"),
    [
        ("donate", "donate.unavailable"),
        ("subscribe", "subscribe.done"),
        ("faq", "faq.topics_prompt"),
        ("about", "about.text"),
        ("nonsense-payload", "start.greeting"),
    ],
)
async def test_deep_links_open_their_feature(bot, payload, key):
    user = bot.api.make_user(6, language_code="es")
    reply = await say(bot, user, f"/start {payload}")
    assert reply.text.startswith(plain("es", key))


@pytest.mark.parametrize("language", LANGUAGES)
async def test_the_cost_of_saving_one_person_is_answered_in_every_language(bot, language):
    user = bot.api.make_user(7, language_code=language)
    reply = await say(bot, user, COST_QUESTIONS[language])
    assert reply.text == answer(language, "cost")
    assert any(figure in reply.text for figure in COST_FIGURES), reply.text


async def test_a_question_in_another_language_is_answered_in_the_users_language(bot):
    user = bot.api.make_user(8, language_code="de")
    reply = await say(bot, user, "кто организует этот сбор?")
    assert reply.text == answer("de", "organizers")


async def test_unmatched_question_gets_the_fallback_and_topic_buttons(bot):
    user = bot.api.make_user(9, language_code="en")
    reply = await say(bot, user, "recommend me a good pizza place")
    assert reply.text == plain("en", "faq.fallback")
    topics = [f"faq:{topic.id}" for topic in default_faq().topics("en")]
    assert button_data(reply) == topics
    call = await press(bot, user, reply, "faq:money_use")
    assert call.ok
    assert (await bot.api.wait_for_message(9)).text == answer("en", "money_use")


async def test_thanks_get_a_reply_of_their_own_not_a_topics_answer(bot):
    user = bot.api.make_user(17, language_code="en")
    reply = await say(bot, user, "thank you so much!")
    assert reply.text == answer("en", "thanks")


async def test_contact_answer_includes_the_configured_emergency_contact(bot):
    user = bot.api.make_user(10, language_code="en")
    reply = await say(bot, user, "how can I contact you?")
    assert EMERGENCY in reply.text


@pytest.mark.parametrize(
    ("language", "message", "contact"),
    [
        ("ru", "помогите мне пожалуйста, меня хотят убить", EMERGENCY_RU),
        ("ru", "Родственники узнали обо мне, мне надо срочно уехать", EMERGENCY_RU),
        ("en", "I am in danger, they are looking for me", EMERGENCY),
        ("de", "Ich bin in Gefahr, bitte helft mir", EMERGENCY),
        ("en", "меня ищут, спасите", EMERGENCY),  # chose English, writes in Russian
    ],
)
async def test_someone_in_danger_gets_the_emergency_contact_and_nothing_is_kept(
    bot, production_logging, language, message, contact
):
    user = bot.api.make_user(11, language_code=language)
    reply = await say(bot, user, message)
    replies = {plain(language, key, contact=contact) for key in ("safety.reply", "safety.line")}
    assert reply.text in replies
    assert contact in reply.text
    assert await bot.storage.users.get(11) is None
    logging.getLogger("handlers").debug("canary")
    assert "canary" in production_logging.text  # the log is captured at DEBUG ...
    assert message not in production_logging.text  # ... and the message is not in it
    assert TOKEN not in production_logging.text
    rows = await bot.storage.database.fetch_all("SELECT * FROM users")
    assert rows == []


async def test_subscribe_and_unsubscribe_by_command_and_menu(bot):
    user = bot.api.make_user(12, language_code="fr")
    assert (await say(bot, user, "/subscribe")).text.startswith(plain("fr", "subscribe.done"))
    assert (await say(bot, user, "/subscribe")).text.startswith(plain("fr", "subscribe.already"))
    record = await bot.storage.users.get(12)
    assert (record.subscribed, record.language) == (True, "fr")
    menu = await say(bot, user, "/start")
    assert menu.buttons[4]["text"] == texts("fr")("menu.unsubscribe")
    await press(bot, user, menu, "menu:subscription")
    assert (await bot.api.wait_for_message(12)).text.startswith(plain("fr", "unsubscribe.done"))
    assert await bot.storage.users.get(12) is None
    assert (await say(bot, user, "/unsubscribe")).text == plain("fr", "unsubscribe.already")


async def test_every_menu_button_answers(bot):
    user = bot.api.make_user(13, language_code="en")
    menu = await say(bot, user, "/start")
    expected = {
        "menu:about": "about.text",
        "menu:questions": "faq.topics_prompt",
        "menu:donate": "donate.unavailable",
        "menu:progress": "progress.unavailable",
        "menu:share": "share.intro",
        "menu:language": "language.prompt",
    }
    for data, key in expected.items():
        call = await press(bot, user, menu, data)
        assert call.ok
        assert (await bot.api.wait_for_message(13)).text == plain("en", key)
        if data == "menu:share":
            await bot.api.wait_for_message(13)  # the forwardable text


async def test_privacy_and_forget_delete_everything(bot):
    user = bot.api.make_user(14, language_code="ru")
    await say(bot, user, "/language es")
    await say(bot, user, "/subscribe")
    reply = await say(bot, user, "/privacy")
    assert reply.text == visible(privacy_text(texts("es"), bot.services.settings))
    assert reply.text.startswith(plain("es", "privacy.title"))
    question = await say(bot, user, "/forget")
    assert button_data(question) == ["forget:yes", "forget:no"]
    await press(bot, user, question, "forget:no")
    assert (await bot.api.wait_for_message(14)).text == plain("es", "forget.cancelled")
    assert await bot.storage.users.get(14) is not None

    question = await say(bot, user, "/forget")
    await press(bot, user, question, "forget:yes")
    edited = await bot.api.wait_for_message(14)
    assert (edited.method, edited.text) == ("editMessageText", plain("es", "forget.done"))
    assert await bot.storage.database.fetch_all("SELECT * FROM users WHERE user_id = 14") == []
    await press(bot, user, question, "forget:yes", check_button=False)  # a second, stale tap
    assert (await bot.api.wait_for_message(14)).text == plain("ru", "forget.nothing")


async def test_share_gives_a_text_with_the_bot_link_and_an_inline_button(bot):
    user = bot.api.make_user(15, language_code="en")
    intro = await say(bot, user, "/share")
    assert intro.text == plain("en", "share.intro")
    assert intro.buttons == [{"text": texts("en")("share.button"), "switch_inline_query": ""}]
    forward = await bot.api.wait_for_message(15)
    assert f"https://t.me/{bot.api.username}" in forward.text


async def test_inline_mode_offers_the_appeal_card_in_the_users_language(bot):
    user = bot.api.make_user(16, language_code="ru")
    bot.api.inline_query(user, "anything at all")
    call = await bot.api.wait_for_call("answerInlineQuery")
    assert call.ok
    (result,) = call.params["results"]
    assert result["title"] == texts("ru")("inline.title")
    assert result["input_message_content"]["message_text"] == texts("ru")("inline.card")
    urls = [row[0]["url"] for row in result["reply_markup"]["inline_keyboard"]]
    link = f"https://t.me/{bot.api.username}"
    assert urls == [f"{link}?start=donate", link]


async def test_myid_tells_a_person_their_own_id_and_stores_nothing(bot):
    async def every_row() -> dict[str, list[tuple]]:
        tables = await bot.storage.database.fetch_all(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
        )
        return {
            table: [tuple(row) for row in await bot.storage.database.fetch_all(
                f"SELECT * FROM {table}"  # noqa: S608 (names from sqlite_master)
            )]
            for (table,) in tables
        }  # fmt: skip

    before = await every_row()
    user = bot.api.make_user(7_123_456_789, language_code="fr")
    reply = await say(bot, user, "/myid")
    assert reply.text == plain("fr", "myid.text", id="7123456789")  # no thousands separators
    assert reply.html.count("<code>7123456789</code>") == 1
    assert [entity["type"] for entity in reply.entities] == ["code"]
    assert await every_row() == before
    assert await bot.storage.users.get(user["id"]) is None
