"""Donation storage: each event once, in any order, with the right totals."""

import asyncio
import itertools

import pytest

from tgbot.storage import Storage
from tgbot.storage.donations import DisputeChange, PaymentChange, RefundChange

ids = itertools.count(1)


@pytest.fixture
async def storage(tmp_path):
    storage = await Storage.open(tmp_path / "bot.sqlite3")
    await storage.donations.create_intent("int_1", 77, "de", 2500, "eur")
    yield storage
    await storage.close()


def session(status: str, session_id: str = "cs_1", intent_id: str = "int_1") -> PaymentChange:
    return PaymentChange(session_id, intent_id, "pi_1", 2500, "eur", status)


async def apply(storage, *changes, event_id: str | None = None):
    return await storage.donations.apply_event(
        event_id or f"evt_{next(ids)}", "test.event", 1_700_000_000, list(changes)
    )


async def kept(storage) -> int:
    return sum(row.gross - row.returned for row in await storage.donations.totals())


async def test_an_event_is_applied_once(storage):
    assert await apply(storage, session("paid"), event_id="evt_a") is True
    assert await apply(storage, session("paid"), event_id="evt_a") is None
    assert [(r.donations, r.gross) for r in await storage.donations.totals()] == [(1, 2500)]


async def test_twenty_concurrent_copies_apply_once(storage):
    results = await asyncio.gather(
        *(apply(storage, session("paid"), event_id="evt_same") for _ in range(20))
    )
    assert sorted(results, key=str) == [None] * 19 + [True]
    assert len(await storage.donations.claim_thanks()) == 1


async def test_a_session_this_bot_did_not_create_is_not_counted(storage):
    assert await apply(storage, session("paid", "cs_other", "int_unknown")) is False
    assert await storage.donations.totals() == []


@pytest.mark.parametrize(
    ("order", "final"),
    [
        (["pending", "paid"], "paid"),
        (["paid", "pending"], "paid"),
        (["paid", "expired"], "paid"),
        (["expired", "paid"], "paid"),
        (["pending", "failed"], "failed"),
        (["pending", "expired"], "expired"),
    ],
)
async def test_status_only_moves_forward(storage, order, final):
    for status in order:
        await apply(storage, session(status))
    (row,) = await storage.donations.export()
    assert row.status == final


async def test_two_paid_events_owe_one_thank_you(storage):
    await apply(storage, session("pending"))
    assert await apply(storage, session("paid")) is True
    assert await apply(storage, session("paid")) is False
    (owed,) = await storage.donations.claim_thanks()
    assert (owed.user_id, owed.language, owed.amount, owed.currency) == (77, "de", 2500, "eur")
    assert await storage.donations.claim_thanks() == []  # claimed: never sent twice


async def test_a_refund_may_come_first_and_the_latest_reading_of_the_charge_wins(storage):
    """The service reads `amount_refunded` from the charge for each event: a smaller later
    reading (a refund that failed) replaces a larger one."""
    await apply(storage, RefundChange("pi_1", "ch_1", 1500))
    await apply(storage, session("paid"))
    assert await kept(storage) == 1000
    await apply(storage, RefundChange("pi_1", "ch_1", 500))
    assert await kept(storage) == 2000


async def test_a_gift_refunded_in_full_is_no_longer_counted_as_a_donation(storage):
    await apply(storage, session("paid"))
    await apply(storage, RefundChange("pi_1", "ch_1", 1000))  # a partial refund: still a gift
    assert [row.donations for row in await storage.donations.totals()] == [1]
    await apply(storage, RefundChange("pi_1", "ch_1", 2500))
    ((row),) = await storage.donations.totals()
    assert (row.donations, row.gross, row.returned) == (0, 2500, 2500)


async def test_disputes_hold_money_until_won_and_a_final_outcome_sticks(storage):
    await apply(storage, session("paid"))
    await apply(storage, DisputeChange("dp_1", "pi_1", 2500, "needs_response"))
    assert await kept(storage) == 0
    await apply(storage, DisputeChange("dp_1", "pi_1", 2500, "won"))
    await apply(storage, DisputeChange("dp_1", "pi_1", 2500, "under_review"))  # late copy
    assert await kept(storage) == 2500


@pytest.mark.parametrize("status", ["warning_needs_response", "warning_under_review"])
async def test_an_inquiry_takes_no_money_until_it_becomes_a_dispute(storage, status):
    await apply(storage, session("paid"))
    await apply(storage, DisputeChange("dp_3", "pi_1", 2500, status))
    assert await kept(storage) == 2500
    await apply(storage, DisputeChange("dp_3", "pi_1", 2500, "needs_response"))  # escalated
    assert await kept(storage) == 0


async def test_a_lost_dispute_stays_lost(storage):
    await apply(storage, DisputeChange("dp_2", "pi_1", 2500, "lost"))
    await apply(storage, DisputeChange("dp_2", "pi_1", 2500, "needs_response"))
    await apply(storage, session("paid"))
    assert await kept(storage) == 0


async def test_forget_unlinks_donations_but_keeps_the_amounts(storage):
    await apply(storage, session("paid"))
    assert await storage.forget(77) is True
    assert (await storage.donations.intent("int_1")).user_id is None
    assert await storage.donations.claim_thanks() == []  # nobody left to thank
    assert await kept(storage) == 2500
    assert await storage.forget(77) is False


async def test_settlement_and_checkpoints(storage):
    await apply(storage, session("paid"))
    assert await storage.donations.unsettled(10) == [("cs_1", "pi_1")]
    await storage.donations.set_settlement("cs_1", 2700, "usd", 108)
    (row,) = await storage.donations.totals()
    assert (row.settled_currency, row.settled_kept, row.fees) == ("usd", 2700, 108)
    assert await storage.donations.unsettled(10) == []
    assert await storage.donations.checkpoint("x") is None
    await storage.donations.set_checkpoint("x", 5)
    await storage.donations.set_checkpoint("x", 9)
    assert await storage.donations.checkpoint("x") == 9
