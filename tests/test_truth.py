"""What the texts may claim: facts from the article, the rest from settings, privacy as stored.

- Each FAQ answer and note is rendered under different settings; the settings that change it
  must be the ones listed here, so a text cannot silently start depending on (or ignoring) one.
- Every number in a text is one of the article's, or comes from a placeholder.
- Every column of the schema is in the privacy registry, and /privacy describes each one.
"""

import re
import sqlite3

import pytest

from handlers.donations import offer_text
from handlers.notes import caution, faq_values, with_notes
from handlers.privacy import BULLETS, IN_MEMORY, privacy_text
from tgbot.runtime.memory import DELETABLE_SECONDS
from tgbot.settings import LANGUAGES, load_settings
from tgbot.storage import Storage
from tgbot.storage.personal_data import ABOUT_A_PERSON, ABOUT_ADMINS, registered
from tgbot.text.faq import default_faq
from tgbot.text.i18n import catalog, load_toml, texts

BASE = {
    "bot_token": "1:x",
    "emergency_contact_text": "Hotline +1 555 0100, help@example.org",
    "_env_file": None,
}
VARIANTS = {
    "EMERGENCY_CONTACT_TEXT": {"emergency_contact_text": "Other line +1 555 0199 (example.org)"},
    "CAMPAIGN_STATUS": {"campaign_status": "closed"},
    "ORGANISERS_CONTACT": {"organisers_contact": "Write to team@example.org"},
    "OTHER_WAYS_TO_GIVE": {"other_ways_to_give": "Bank transfer: see example.org/give"},
    "STRIPE_RECEIPTS": {"stripe_receipts": True},
    "RUSSIA_CAUTION": {"russia_caution": False},
    "BACKUP_RETENTION_DAYS": {"backup_retention_days": 30},
}
"""One different value for each setting a text may depend on."""

DEPENDS_ON = {
    "faq:situation": set(),
    "faq:organizers": set(),
    "faq:money_use": set(),
    "faq:cost": set(),
    "faq:progress": set(),
    "faq:how_to_donate": set(),
    "faq:donation_safety": {"OTHER_WAYS_TO_GIVE"},
    "faq:share": set(),
    "faq:updates": set(),
    "faq:stop_and_delete": set(),
    "faq:contact": {"EMERGENCY_CONTACT_TEXT", "ORGANISERS_CONTACT"},
    "faq:campaign_status": {"CAMPAIGN_STATUS"},
    "faq:volunteer": {"ORGANISERS_CONTACT"},
    "faq:other_ways": {"OTHER_WAYS_TO_GIVE", "ORGANISERS_CONTACT"},
    "faq:tax": {"ORGANISERS_CONTACT"},
    "faq:receipt": {"STRIPE_RECEIPTS"},
    "faq:thanks": set(),
    "faq:greeting": set(),
    "donate offer": {"OTHER_WAYS_TO_GIVE", "RUSSIA_CAUTION"},
    "share intro": {"RUSSIA_CAUTION"},
    "privacy": {"BACKUP_RETENTION_DAYS"},
}
"""The settings each text depends on. The caution is Russian: other languages have none."""
CAUTIONED = {"ru"}

INPUT_EXAMPLES = {
    "donate.other_prompt",
    "donate.other_prompt_monthly",
    "amount.not_a_number",
    "amount.too_many_decimals",
    "broadcasts.cancel_usage",
}
"""Texts whose numbers show what to type (`25.50`, `/cancel 12`): examples, not claims."""
ARTICLE_NUMBERS = {"2016", "2017", "4,555", "4555", "4 555", "4.555", "4\u00a0555", "4\u202f555"}
NUMBER = re.compile(r"\d[\d,.\u00a0\u202f ]*\d|\d")


def rendered(language: str, settings) -> dict[str, str]:
    t = texts(language)
    values = faq_values(t, settings)
    base = default_faq().bases[language]
    found = {
        f"faq:{topic.id}": topic.answer.format(**values)
        for topic in [*base.topics, *base.small_talk]
    }
    found["donate offer"] = offer_text(t, settings, monthly=False)
    found["share intro"] = with_notes(t("share.intro"), caution(t, settings, "share"))
    found["privacy"] = privacy_text(t, settings)
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_text_depends_on_the_settings_listed(language):
    base = rendered(language, load_settings(**BASE))
    assert set(base) == set(DEPENDS_ON)
    changed_by: dict[str, set[str]] = {text: set() for text in base}
    for setting, value in VARIANTS.items():
        other = rendered(language, load_settings(**(BASE | value)))
        for text in base:
            if other[text] != base[text]:
                changed_by[text].add(setting)
    expected = {
        text: settings - ({"RUSSIA_CAUTION"} if language not in CAUTIONED else set())
        for text, settings in DEPENDS_ON.items()
    }
    assert changed_by == expected


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_number_in_a_text_is_the_articles(language):
    """Amounts, dates and counts come from placeholders; the texts add only the article's."""
    messages = [m for key, m in catalog(language).items() if key not in INPUT_EXAMPLES]
    strings = [m for m in messages if isinstance(m, str)]
    strings += [v for m in messages if isinstance(m, dict) for v in m.values()]
    for topic in load_toml(language, "faq")["topics"].values():
        strings += [topic["answer"], topic["button"]]
    for text in strings:
        for number in NUMBER.findall(re.sub(r"\{[^}]*\}", "", text)):
            assert number.strip(" ,.") in ARTICLE_NUMBERS, (number, text)


async def test_every_column_is_registered_and_described(tmp_path):
    storage = await Storage.open(str(tmp_path / "bot.sqlite3"))
    await storage.close()
    with sqlite3.connect(tmp_path / "bot.sqlite3") as db:
        tables = [row[0] for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )]  # fmt: skip
        columns = [
            (table, row[1]) for table in tables for row in db.execute(f"PRAGMA table_info({table})")
        ]
    assert len(columns) > 80
    unregistered = [column for column in columns if not registered(*column)]
    assert unregistered == [], "add them to tgbot/storage/personal_data.py"
    bullets = {key for table in ABOUT_A_PERSON.values() for key in table.values()}
    assert bullets - {ABOUT_ADMINS} == set(BULLETS) - IN_MEMORY


@pytest.mark.parametrize("language", LANGUAGES)
def test_privacy_shows_every_bullet(language):
    t = texts(language)
    text = privacy_text(t, load_settings(**BASE))
    for key in BULLETS:
        assert t(key, hours=DELETABLE_SECONDS // 3600) in text, key
