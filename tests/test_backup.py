"""`python -m tgbot backup PATH`: a consistent copy of the live database.

Taken by a real process in the middle of a burst of Stripe webhooks, the copy holds a
committed state; restored and reconciled with Stripe, it has the exact totals: nothing lost,
nothing counted twice.
"""

import asyncio
import shutil

from tests.conftest import EMERGENCY, TOKEN, running_bot
from tests.test_conversation import say, visible
from tests.test_donations import deliver, donate, giving_bot, kept_total
from tests.test_process import bot_env, run_cli
from tgbot.payments.money import Money
from tgbot.runtime.runner import open_services
from tgbot.text.i18n import texts

DONORS = range(700, 720)
BURST_GAP = 0.2
"""Seconds between webhooks: the burst lasts about 4 s, the backup process well under that."""
STARTED_AFTER = 5


async def test_a_backup_during_a_burst_of_webhooks_restores_to_exact_totals(
    bot_api, stripe_fake, tmp_path, make_settings, stripe_settings
):
    async with giving_bot(bot_api, stripe_fake, make_settings(**stripe_settings)) as giving:
        copy = await back_up_during_a_burst(giving, tmp_path)
    restored = tmp_path / "restored.sqlite3"
    shutil.copy(copy, restored)
    settings = make_settings(**stripe_settings, database_path=restored)
    async with open_services(settings) as services:
        await services.payments.reconcile()  # what came after the copy is still at Stripe
        assert (await services.payments.progress()).raised == Money(2500 * len(DONORS), "eur")
        assert len(await services.payments.export()) == len(DONORS)
    async with open_services(make_settings(database_path=copy)) as services:
        in_copy = len(await services.storage.donations.export())
    assert STARTED_AFTER <= in_copy <= len(DONORS)


async def back_up_during_a_burst(giving, tmp_path):
    """Webhooks for every donor at once, with `python -m tgbot backup` run in the middle."""
    events = []
    for user_id in DONORS:
        await donate(giving, giving.api.make_user(user_id, language_code="en"), "/donate 25 EUR")
        session = list(giving.stripe.sessions.values())[-1]
        events.append(giving.stripe.pay(session["id"]))
    env = bot_env(tmp_path, bot_token=TOKEN, emergency_contact_text=EMERGENCY)
    env["DATABASE_PATH"] = str(giving.services.settings.database_path)
    copy = tmp_path / "backups" / "appeal.sqlite3"

    async def burst() -> None:
        for event in events:
            await deliver(giving, event)
            await asyncio.sleep(BURST_GAP)

    webhooks = asyncio.create_task(burst())
    while len(await giving.storage.donations.export()) < STARTED_AFTER:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    code, output = await run_cli(tmp_path, env, "backup", str(copy))
    await webhooks
    assert code == 0, output
    assert await kept_total(giving) == Money(2500 * len(DONORS), "eur")
    return copy


async def test_a_backup_of_a_missing_database_fails_with_one_line(tmp_path):
    env = bot_env(tmp_path, bot_token=TOKEN, emergency_contact_text=EMERGENCY)
    code, output = await run_cli(tmp_path, env, "backup", str(tmp_path / "copy.sqlite3"))
    assert code == 1
    assert output.strip().startswith("Backup failed: no database at")
    assert not (tmp_path / "copy.sqlite3").exists()


async def test_privacy_says_how_long_backups_keep_data(bot_api, make_settings):
    async with running_bot(bot_api, make_settings(backup_retention_days="14")) as bot:
        user = bot_api.make_user(730, language_code="ru")
        reply = await say(bot, user, "/privacy")
    assert reply.text.endswith(visible(texts("ru")("privacy.backups", count=14)))
    assert "14" in reply.text
