"""Hardening: SQL and HTML injection in every text a user or an admin controls.

Everything goes through the real bot against the emulator, which parses every HTML message
the bot sends as Telegram would: a reply with broken or injected markup fails the test via
the `bot_api` fixture. After each conversation the schema is intact, the database passes
SQLite's integrity check, and stored values are exactly what was written.
"""

import html
import sqlite3
from contextlib import closing
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from handlers.donations import DEFAULT_CURRENCY, refusal
from tests.conftest import ADMIN_ID
from tests.test_broadcasts import discreetly, draft, finished, is_news, news_to, send
from tests.test_conversation import plain, say, visible
from tests.test_donations import giving_bot
from tgbot.payments.money import AmountError, parse_amount
from tgbot.settings import LANGUAGES
from tgbot.text.i18n import texts

SQL = [
    "'); DROP TABLE users;--",
    '" OR 1=1 --',
    "' OR '1'='1",
    "1; DELETE FROM donations",
    "' UNION SELECT * FROM users --",
    "Robert'); DROP TABLE broadcasts;--",
]
HTML = [
    "<b>",
    "</b><script>alert(1)</script>",
    "&amp;",
    '<a href="javascript:alert(1)">x</a>',
    "&lt;i&gt; &#0; &nbsp; &#x110000;",
    "<tg-spoiler>x</tg-spoiler>",
]
HOSTILE = SQL + HTML


def schema(database: Path) -> tuple[list[tuple[str, str]], str]:
    """Every table, index and trigger, and SQLite's verdict on the file."""
    with closing(sqlite3.connect(database)) as db:
        objects = db.execute("SELECT type, name FROM sqlite_master ORDER BY type, name").fetchall()
        (verdict,) = db.execute("PRAGMA integrity_check").fetchone()
    return objects, verdict


@pytest.fixture
def intact(bot):
    """Asserts at the end that the schema is what the bot created and the file is sound."""
    path = bot.services.settings.database_path
    before, verdict = schema(path)
    assert verdict == "ok"
    assert ("table", "users") in before
    yield
    assert schema(path) == (before, "ok")


@pytest.fixture
async def giving(bot_api, stripe_fake, make_settings, stripe_settings):
    async with giving_bot(bot_api, stripe_fake, make_settings(**stripe_settings)) as running:
        yield running


def available() -> str:
    return ", ".join(f"{texts(code)('language.name')} ({code})" for code in LANGUAGES)


async def test_free_text_questions_are_answered_and_never_stored(bot, intact):
    user = bot.api.make_user(101, language_code="en")
    for text in [*HOSTILE, " ".join(HOSTILE), "how much does it cost? '); DROP TABLE users;--"]:
        reply = await say(bot, user, text)
        assert reply.text, text
    assert await bot.storage.users.get(101) is None
    bot.api.send_message(user, "/help")
    help_text = plain("en", "help.text")
    assert await bot.api.wait_for_message(101, predicate=lambda m: m.text == help_text)


async def test_language_arguments_are_echoed_verbatim_and_stored_never(bot, intact):
    user = bot.api.make_user(102, language_code="en")
    for code in HOSTILE:
        reply = await say(bot, user, f"/language {code}")
        expected = plain(
            "en", "language.unknown", code=code[:32], available=available(), count=len(LANGUAGES)
        )
        assert reply.text == expected, code
        assert code[:32] in reply.text  # what they typed, shown as text, not markup
    assert await bot.storage.users.get(102) is None
    await say(bot, user, "/language Deutsch")
    assert (await bot.storage.users.get(102)).language == "de"


async def test_start_payloads_get_the_greeting(bot, intact):
    user = bot.api.make_user(103, language_code="fr")
    for payload in HOSTILE:
        reply = await say(bot, user, f"/start {payload}")
        assert reply.text == plain("fr", "start.greeting"), payload
    assert await bot.storage.users.get(103) is None


async def test_hostile_first_names_change_nothing(bot, intact):
    for offset, name in enumerate(HOSTILE):
        user_id = 200 + offset
        user = bot.api.make_user(user_id, language_code="ru", first_name=name, last_name=name)
        assert (await say(bot, user, "/start")).text == plain("ru", "start.greeting")
        assert (await say(bot, user, "/subscribe")).text.startswith(plain("ru", "subscribe.done"))
        await say(bot, user, "/language es")
        assert await say(bot, user, "¿cuánto cuesta salvar a una persona?")
        record = await bot.storage.users.get(user_id)
        assert (record.subscribed, record.language) == (True, "es")
    assert await bot.storage.users.subscribers() == len(HOSTILE)
    for sent in bot.api.sent_messages():
        assert not any(name in sent.text for name in HOSTILE if len(name) > 4), sent.text


async def test_typed_amounts_are_refused_and_never_reach_stripe(giving):
    path = giving.services.settings.database_path
    before = schema(path)
    user = giving.api.make_user(104, language_code="en")
    maximum = giving.services.settings.max_donation
    attempts = [*HOSTILE, "25 EUR'); DROP TABLE donations;--", "25 <b>EUR</b>", "&#50;&#53;"]
    for typed in attempts:
        reply = await say(giving, user, f"/donate {typed}")
        assert reply.text == expected_refusal(typed, "en", maximum), typed
    offer = await say(giving, user, "/donate")
    giving.api.press_button(user, offer, "don:other:once:usd")
    await giving.api.wait_for_message(104)
    reply = await say(giving, user, "25'); DROP TABLE donations;--")
    assert reply.text == expected_refusal("25'); DROP TABLE donations;--", "en", maximum, "usd")
    assert giving.stripe.requests == []
    assert await giving.services.storage.donations.export() == []
    assert schema(path) == before


def expected_refusal(typed: str, language: str, maximum: Decimal, currency: str = "") -> str:
    with pytest.raises(AmountError) as refused:
        parse_amount(typed, currency or DEFAULT_CURRENCY[language], maximum)
    return visible(refusal(texts(language), refused.value, maximum))


async def test_a_post_is_stored_escaped_and_shown_to_subscribers_verbatim(bot, intact):
    english = "News <b>not bold</b> & '); DROP TABLE broadcasts;-- " + '" OR 1=1 --'
    russian = 'Новости <a href="javascript:alert(1)">x</a> &amp; </b><script>'
    for user_id, language in ((301, "en"), (302, "ru"), (303, "de")):
        user = bot.api.make_user(user_id, language_code=language)
        await say(bot, user, "/subscribe")
    text = f"/post [en] {english}\n[ru] {russian}"
    bold = {"type": "bold", "offset": text.index("&"), "length": len("& '); DROP TABLE")}
    summary = await draft(bot, text, [bold])
    bold_part = "& '); DROP TABLE"
    stored = (await bot.storage.broadcasts.draft(ADMIN_ID)).texts
    assert stored == {
        "en": html.escape(english).replace(
            html.escape(bold_part), f"<b>{html.escape(bold_part)}</b>"
        ),
        "ru": html.escape(russian),
    }
    previews = [m.text for m in bot.api.sent_messages(ADMIN_ID) if is_news(m)]
    assert previews == [english, russian]
    await finished(bot, await send(bot, summary))
    assert [m.text for m in news_to(bot.api, 301)] == [english]
    assert [m.text for m in news_to(bot.api, 302)] == [discreetly("ru", russian)]
    assert [m.text for m in news_to(bot.api, 303)] == [english]  # the default language's
    (shown,) = news_to(bot.api, 301)
    assert [(e["type"], e["offset"], e["length"]) for e in shown.entities] == [
        ("bold", english.index("&"), len(bold_part))
    ]
    assert await bot.storage.users.subscribers() == 3


async def test_forged_unsubscribe_reasons_are_not_counted(bot, intact):
    user = bot.api.make_user(105, language_code="en")
    await say(bot, user, "/subscribe")
    confirmation = await say(bot, user, "/unsubscribe")
    for reason in HOSTILE:
        bot.api.press_button(user, confirmation, f"unsub:{reason}", check_button=False)
        call = await bot.api.wait_for_call("answerCallbackQuery")
        assert call.params["text"] == texts("en")("error.stale_button"), reason
    bot.api.press_button(user, confirmation, "unsub:other")
    await bot.api.wait_for_call("editMessageText")
    stats = await bot.storage.users.subscriber_stats(since=date.min)
    assert stats.reasons == {"other": 1}


FORGED = [
    "menu:<script>",
    "lang:'); DROP TABLE users;--",
    "faq:' OR 1=1 --",
    "faq:cost' OR '1'='1",
    "don:pay:once:eur:1 OR 1=1",
    "don:pay:once:eur';--:2500",
    "don:show:once:<b>",
    "post:send:1 OR 1=1",
    "post:discard:1;DELETE",
    "sub:on' --",
    "forget:yes'--",
    "mine:sub_' OR 1=1--",
    "mine:sub_1OR1eq1",
    "mine:0123456789abcdef",
    "prog:<i>",
    '<a href="javascript:alert(1)">',
    "&amp;",
]


async def test_forged_callback_data_is_answered_and_changes_nothing(giving):
    path = giving.services.settings.database_path
    before = schema(path)
    user = giving.api.make_user(106, language_code="en")
    menu = await say(giving, user, "/start")
    for data in FORGED:
        giving.api.press_button(user, menu, data, check_button=False)
        call = await giving.api.wait_for_call("answerCallbackQuery")
        assert call.ok, data
    mine = await giving.api.wait_for_message(106)  # the one forged id shaped like ours
    assert mine.text == plain("en", "mine.not_found")
    assert await say(giving, user, "/help")
    assert giving.stripe.requests == []
    assert await giving.services.storage.users.get(106) is None
    assert await giving.services.storage.broadcasts.recent(5) == []
    assert schema(path) == before
