"""What only the operator knows, said only as the settings say it, through the real bot.

Campaign status, other ways to give, receipts and the organisers' contact are not in the
article; the caution for people in Russia is an editable locale line that can be turned off.
"""

import pytest

from tests.conftest import running_bot
from tests.test_conversation import plain, say, visible
from tgbot.settings import SettingsError, load_settings
from tgbot.text.i18n import Html, texts

OTHER_WAYS_EN = "Bank transfer: see example.org/give"
OTHER_WAYS_RU = "Перевод по реквизитам: example.org/ru"
ORGANISERS = "Write to team@example.org"


def note(language: str, key: str, **params) -> str:
    return visible(texts(language)(key, **params))


async def test_a_closed_appeal_gives_no_payment_link(
    bot_api, stripe_fake, make_settings, stripe_settings
):
    settings = make_settings(**stripe_settings, campaign_status="closed")
    async with running_bot(bot_api, settings) as bot:
        user = bot_api.make_user(501, language_code="en")
        assert (await say(bot, user, "/donate")).text == plain("en", "donate.closed")
        assert (await say(bot, user, "/donate 25 EUR")).text == plain("en", "donate.closed")
        status = await say(bot, user, "is the appeal still running?")
        assert note("en", "notes.campaign_closed") in status.text
    assert stripe_fake.sessions == {}


async def test_an_active_appeal_says_so(bot):
    user = bot.api.make_user(502, language_code="de")
    reply = await say(bot, user, "läuft der Spendenaufruf noch?")
    assert note("de", "notes.campaign_active") in reply.text


async def test_the_donation_question_carries_other_ways_and_the_russian_caution(
    bot_api, stripe_fake, make_settings, stripe_settings
):
    settings = make_settings(
        **stripe_settings, other_ways_to_give=OTHER_WAYS_EN, other_ways_to_give_ru=OTHER_WAYS_RU
    )
    async with running_bot(bot_api, settings) as bot:
        russian = bot_api.make_user(503, language_code="ru")
        offer = (await say(bot, russian, "/donate")).text
        assert note("ru", "notes.other_ways", note=OTHER_WAYS_RU) in offer
        assert plain("ru", "caution.donate") in offer
        english = bot_api.make_user(504, language_code="en")
        offer = (await say(bot, english, "/donate")).text
        assert note("en", "notes.other_ways", note=OTHER_WAYS_EN) in offer
        assert offer.endswith(OTHER_WAYS_EN)  # no caution in English
        share = (await say(bot, russian, "/share")).text
        assert plain("ru", "caution.share") in share
        await bot_api.wait_for_message(503)  # the forwardable text


async def test_the_caution_can_be_switched_off(
    bot_api, stripe_fake, make_settings, stripe_settings
):
    settings = make_settings(**stripe_settings, russia_caution=False)
    async with running_bot(bot_api, settings) as bot:
        russian = bot_api.make_user(505, language_code="ru")
        offer = (await say(bot, russian, "/donate")).text
        assert offer == plain("ru", "donate.choose")
        share = (await say(bot, russian, "/share")).text
        assert share == plain("ru", "share.intro")
        await bot_api.wait_for_message(505)


@pytest.mark.parametrize(
    ("receipts", "key"), [(True, "receipts_stripe"), (False, "receipts_unknown")]
)
async def test_receipts_are_promised_only_when_stripe_sends_them(
    bot_api, make_settings, receipts, key
):
    async with running_bot(bot_api, make_settings(stripe_receipts=receipts)) as bot:
        user = bot_api.make_user(506, language_code="en")
        reply = await say(bot, user, "will I get a receipt for my donation?")
        assert note("en", f"notes.{key}") in reply.text


async def test_questions_without_facts_point_to_the_organisers_when_known(bot_api, make_settings):
    async with running_bot(bot_api, make_settings(organisers_contact=ORGANISERS)) as bot:
        user = bot_api.make_user(507, language_code="en")
        reply = await say(bot, user, "is my donation tax deductible?")
        assert note("en", "notes.organisers", contact=Html(ORGANISERS)) in reply.text
    async with running_bot(bot_api, make_settings()) as bot:
        reply = await say(bot, user, "can I volunteer?")
        assert note("en", "notes.organisers_unknown") in reply.text


def test_an_organisers_contact_must_say_how_to_reach_them():
    with pytest.raises(SettingsError, match="ORGANISERS_CONTACT_FR"):
        load_settings(
            bot_token="1:x",
            emergency_contact_text="Hotline +1 555 0100, help@example.org",
            organisers_contact_fr="Demandez aux organisateurs",
            _env_file=None,
        )
