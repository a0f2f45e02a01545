"""What the bot says about things the article does not tell: each comes from a setting.

Whether the appeal still runs, other ways to give, receipts and how to reach the organisers
are facts only the operator knows. Each line here says what the setting holds, or says plainly
that the bot cannot tell. The caution for people in Russia is a locale text the operator can
edit (`caution.*`, empty in languages that need none) or switch off (RUSSIA_CAUTION).
"""

import html

from handlers.safety import emergency_contact
from tgbot.settings import Settings
from tgbot.text.i18n import Html, Texts


def _operator_text(settings: Settings, name: str, language: str) -> Html | None:
    value = settings.localized(name, language)
    return Html(html.escape(value)) if value else None


def organisers(t: Texts, settings: Settings) -> str:
    if (contact := _operator_text(settings, "organisers_contact", t.language)) is None:
        return t("notes.organisers_unknown")
    return t("notes.organisers", contact=contact)


def other_ways(t: Texts, settings: Settings) -> str | None:
    """The operator's note on ways to give besides a card, if there is one."""
    if (note := _operator_text(settings, "other_ways_to_give", t.language)) is None:
        return None
    return t("notes.other_ways", note=note)


def campaign(t: Texts, settings: Settings) -> str:
    return t(f"notes.campaign_{settings.campaign_status}")


def receipts(t: Texts, settings: Settings) -> str:
    return t("notes.receipts_stripe" if settings.stripe_receipts else "notes.receipts_unknown")


def caution(t: Texts, settings: Settings, about: str) -> str | None:
    """The caution line for `about` (`donate`, `share`) in this language, if any is due."""
    line = t(f"caution.{about}")
    return line if settings.russia_caution and line else None


def with_notes(text: str, *notes: str | None) -> str:
    """`text`, then each note that applies, a paragraph each."""
    return "\n\n".join([text, *(note for note in notes if note)])


def faq_values(t: Texts, settings: Settings) -> dict[str, str]:
    """What each placeholder an FAQ answer may use stands for (tests/test_truth.py lists the
    settings behind each answer)."""
    return {
        "emergency_contact": emergency_contact(t, settings),
        "campaign": campaign(t, settings),
        "organisers": organisers(t, settings),
        "other_ways": other_ways(t, settings) or t("notes.other_ways_unknown"),
        "receipts": receipts(t, settings),
    }
