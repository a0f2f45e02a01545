"""Every language's texts: complete, same placeholders as English, valid HTML, in limits."""

import re

import pytest
from babel import Locale
from telegram.constants import (
    BotCommandLimit,
    BotDescriptionLimit,
    InlineKeyboardButtonLimit,
    MessageLimit,
)

from handlers.common import main_menu
from handlers.language import picker
from handlers.notes import faq_values
from handlers.questions import FOLLOW_UPS
from playground.button_width import labels
from playground.telegram.html import parse_html, utf16_len
from playground.web.page import message_view
from tests.conftest import overflowing_buttons, running_bot
from tests.test_conversation import press, say
from tgbot.payments.money import Money
from tgbot.settings import LANGUAGES, load_settings
from tgbot.text.faq import default_faq
from tgbot.text.i18n import Html, catalog, load_toml, placeholders, texts

OTHERS = [language for language in LANGUAGES if language != "en"]
OPERATOR_SETTINGS = load_settings(
    bot_token="1:x",
    emergency_contact_text="Call <hotline> +1 555 0100",
    organisers_contact="Write to <team@example.org>",
    other_ways_to_give="Bank transfer <details> at example.org",
    _env_file=None,
)
"""Every operator text set, with characters that must be escaped."""
MAY_BE_EMPTY = {"caution.donate", "caution.share"}
"""Only languages whose readers may be in Russia have a caution (handlers/notes.py)."""
SAMPLE = {
    "code": "xx <b>&",
    "hours": 48,
    "example": "$10.00",
    "note": "Bank transfer <details> & more at example.org",
    "available": "English (en), Русский (ru)",
    "link": "https://t.me/AppealBot",
    "contact": "Hotline +1 555 0100 & help@example.org",
    "event": "evt_1Abc",
    "count": 5,
    "currency": "EUR",
    "amount": Money(2550, "eur"),
    "raised": Money(123_456_78, "usd"),
    "goal": Money(1_000_000_00, "usd"),
    "minimum": Money(50, "eur"),
    "maximum": Money(1_000_000, "gbp"),
    "percent": "12.3%",
    "share": "0.5%",
    "impact": Html("It pays for a lot. "),
    "amounts": "€25.00 + £10.00",
    "period": "All time",
    "date": "25 Nov 2026",
    "default": "en",
    "language": "ru",
    "id": 12,
    "list": "en 3, ru 2",
    "limit": 1024,
    "reason": "Bad Request: chat not found",
    "reasons": "Bad Request: chat not found × 2",
    "kind": "news post",
    "status": "sending",
    "started": "11/25/26, 2:00 PM UTC",
    "sent": 1200,
    "pending": 98_000,
    "blocked": 3,
    "failed": 1,
    "cancelled": 0,
    "rate": 27.8,
    "eta": "58 minutes",
    "duration": "2 hours",
    "joined": 14,
    "left": 2,
}
MAX_TOPIC_BUTTON = 30
COST = re.compile(r"4[\s,.\u00a0\u202f]?555")


def rendered(language: str) -> dict[str, str]:
    t = texts(language)
    return {key: t(key, **SAMPLE) for key in catalog(language)}


def forms(message) -> list[str]:
    return list(message.values()) if isinstance(message, dict) else [message]


@pytest.mark.parametrize("language", OTHERS)
def test_every_language_has_exactly_the_english_keys(language):
    assert set(catalog(language)) == set(catalog("en"))


@pytest.mark.parametrize("language", OTHERS)
def test_placeholders_match_english(language):
    english = catalog("en")
    for key, message in catalog(language).items():
        expected = set().union(*(placeholders(form) for form in forms(english[key])))
        for form in forms(message):
            assert placeholders(form) == expected, key


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_valid_html_within_telegram_limits(language):
    for key, text in rendered(language).items():
        plain, _ = parse_html(text)  # raises on what Telegram would refuse
        assert plain.strip() or key in MAY_BE_EMPTY, key
        assert utf16_len(plain) <= MessageLimit.MAX_TEXT_LENGTH, key


@pytest.mark.parametrize("language", LANGUAGES)
def test_profile_texts_fit_telegram_limits(language):
    t = texts(language)
    for key in (k for k in catalog(language) if k.startswith("commands.")):
        assert 1 <= len(t(key)) <= BotCommandLimit.MAX_DESCRIPTION, key
    assert len(t("bot.description")) <= BotDescriptionLimit.MAX_DESCRIPTION_LENGTH
    assert len(t("bot.short_description")) <= BotDescriptionLimit.MAX_SHORT_DESCRIPTION_LENGTH


@pytest.mark.parametrize("language", LANGUAGES)
def test_faq_topics_are_the_same_everywhere_and_render(language):
    faq = default_faq()
    topics = faq.topics(language)
    assert [topic.id for topic in topics] == [topic.id for topic in faq.topics("en")]
    for topic in topics:
        assert 1 <= len(topic.button) <= MAX_TOPIC_BUTTON, topic.id
        answer = topic.answer.format(**faq_values(texts(language), OPERATOR_SETTINGS))
        plain, _ = parse_html(answer)
        assert utf16_len(plain) <= MessageLimit.MAX_TEXT_LENGTH
    assert all(load_toml(language, "faq")["topics"][t.id]["questions"] for t in topics)
    follow_ups = [topic.follow_up for topic in topics]
    assert follow_ups == [topic.follow_up for topic in faq.topics("en")]
    assert {f for f in follow_ups if f} <= set(FOLLOW_UPS)
    small_talk = faq.bases[language].small_talk
    assert [kind.id for kind in small_talk] == [kind.id for kind in faq.bases["en"].small_talk]
    for kind in small_talk:
        assert kind.button is None
        assert kind.follow_up is None
        assert 1 <= utf16_len(parse_html(kind.answer)[0]) <= MessageLimit.MAX_TEXT_LENGTH


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_cost_of_one_evacuation_is_stated(language):
    cost = default_faq().topic(language, "cost")
    assert COST.search(cost.answer)
    for key in ("about.text", "share.text", "inline.card", "progress.unavailable"):
        assert COST.search(texts(language)(key, **SAMPLE)), key


@pytest.mark.parametrize("language", LANGUAGES)
def test_callback_data_fits_in_64_bytes(language):
    t = texts(language)
    markups = [main_menu(t, subscribed=False), main_menu(t, subscribed=True), picker()]
    for markup in markups:
        for row in markup.inline_keyboard:
            for button in row:
                size = len(button.callback_data.encode())
                assert 1 <= size <= InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
    for topic in default_faq().topics(language):
        assert len(f"faq:{topic.id}".encode()) <= InlineKeyboardButtonLimit.MAX_CALLBACK_DATA


@pytest.mark.parametrize("language", LANGUAGES)
def test_plural_messages_have_every_form_the_language_needs(language):
    needed = Locale.parse(language).plural_form.tags | {"other"}
    plurals = {key: m for key, m in catalog(language).items() if isinstance(m, dict)}
    assert plurals  # the catalog does use plurals
    for key, message in plurals.items():
        assert set(message) == needed, key


@pytest.mark.parametrize(
    ("language", "count", "expected"),
    [
        ("ru", 1, "1 языке"),
        ("ru", 3, "3 языках"),
        ("ru", 5, "5 языках"),
        ("ru", 21, "21 языке"),
        ("en", 1, "1 language:"),
        ("en", 5, "5 languages"),
        ("de", 1000, "1.000 Sprachen"),
        ("fr", 1, "1\u00a0langue\u00a0:"),
        ("es", 2, "2 idiomas"),
    ],
)
def test_plurals_and_numbers_follow_the_language(language, count, expected):
    text = texts(language)("language.unknown", code="xx", available="-", count=count)
    assert expected in text


def test_arguments_are_escaped_unless_marked_as_html():
    t = texts("en")
    assert "&lt;b&gt;" in t("language.unknown", code="<b>", available="x", count=5)
    assert t("language.unknown", code=Html("<i>x</i>"), available="", count=5).count("<i>") == 1
    assert texts("ru").number(4555) == "4\xa0555"


@pytest.mark.parametrize("language", LANGUAGES)
async def test_every_keyboard_fits_a_phone_without_wrapping(
    bot_api, stripe_fake, make_settings, stripe_settings, language
):
    """A tour of the bot's keyboards in each language, each label measured with real font
    metrics (playground/button_width.py): counting characters would miss
    "💛 Пожертвовать", 14 of them, which wraps mid-word two to a row."""
    async with running_bot(bot_api, make_settings(**stripe_settings)) as bot:
        user = bot_api.make_user(4242, language_code=language)
        menu = await say(bot, user, "/start")
        await press(bot, user, menu, "menu:questions")
        await bot_api.wait_for_message(user["id"])
        for command in ("/language", "/subscribe", "/start", "/unsubscribe", "/progress"):
            await say(bot, user, command)
        await say(bot, user, "/donate")
        await say(bot, user, "/share")
        await say(bot, user, "/forget")
        bot_api.inline_query(user, "")
        await bot_api.wait_for_call("answerInlineQuery")
    keyboards = [
        labels(call.params.get("reply_markup"))
        for call in bot_api.calls
        if call.params.get("reply_markup")
    ]
    assert len(keyboards) >= 10
    assert overflowing_buttons(bot_api) == []


def test_the_playground_marks_a_label_a_phone_would_wrap():
    """The page draws a dashed outline around such a button (playground/web/static)."""
    keyboard = [
        [{"text": "💛 Пожертвовать", "callback_data": "a"}, {"text": "Ok", "callback_data": "b"}],
        [{"text": "💛 Пожертвовать", "callback_data": "c"}],
    ]
    message = {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "text": "x"}
    view = message_view(message | {"reply_markup": {"inline_keyboard": keyboard}}, bot_id=2)
    assert [[b["too_wide"] for b in row] for row in view["buttons"]] == [[True, False], [False]]


FRENCH_SPACE_BEFORE = re.compile(r"[ \t][!?;:»]|«[ \t]")


def test_french_texts_keep_no_break_spaces_around_high_punctuation():
    """fr/STYLE.md: a no-break space before `:` and inside « », a narrow one before `; ! ?`;
    an ordinary space there lets a phone wrap the line before the mark."""
    faq = load_toml("fr", "faq")
    answers = [
        *(topic["answer"] for topic in faq["topics"].values()),
        *(kind["answer"] for kind in faq.get("small_talk", {}).values()),
    ]
    forms = [
        form
        for message in catalog("fr").values()
        for form in (message.values() if isinstance(message, dict) else [message])
    ]
    assert [text for text in [*forms, *answers] if FRENCH_SPACE_BEFORE.search(text)] == []
