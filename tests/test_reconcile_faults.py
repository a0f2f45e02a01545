"""Reconciliation that meets a database error, then an event it cannot read.

The payment's webhook was lost, so only reconciliation can count it. A failed run leaves the
checkpoint where it was; an unreadable event is set aside and tried again by id, never holding
back the events after it; after `EVENT_ATTEMPTS` tries the admins are told, once.
"""

import sqlite3
from contextlib import closing

import pytest

from handlers.admin import report_unreadable_events
from tests.conftest import ADMIN_ID
from tests.test_conversation import plain
from tests.test_donations import donate, giving, kept_total, only_session  # noqa: F401
from tgbot.payments.money import Money
from tgbot.payments.service import EVENT_ATTEMPTS

BROKEN = {  # a paid session without its amount: no change can be read from it
    "id": "cs_broken",
    "object": "checkout.session",
    "client_reference_id": "int_broken",
    "mode": "payment",
    "payment_status": "paid",
}


async def test_a_lost_payment_is_counted_past_a_database_error_and_an_unreadable_event(giving):  # noqa: F811
    user = giving.api.make_user(44, language_code="en")
    await donate(giving, user)
    giving.stripe.pay(only_session(giving)["id"])  # its webhook never arrives
    unreadable = giving.stripe.add_event("checkout.session.completed", BROKEN)
    payments = giving.services.payments

    path = giving.services.settings.database_path
    with closing(sqlite3.connect(path, isolation_level=None, timeout=0)) as other:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError):
            await payments.reconcile()
        other.execute("ROLLBACK")
    assert await kept_total(giving) == Money(0, "eur")

    report = await payments.reconcile()
    assert await kept_total(giving) == Money(2500, "eur")
    assert report.unreadable == []
    for _ in range(EVENT_ATTEMPTS - 2):  # tried again by id, once per run
        assert (await payments.reconcile()).unreadable == []
    assert (await payments.reconcile()).unreadable == [(unreadable["id"], unreadable["type"])]
    assert (await payments.reconcile()).unreadable == []  # told once
    assert await kept_total(giving) == Money(2500, "eur")


async def test_the_admins_are_told_of_an_unreadable_event(giving):  # noqa: F811
    giving.api.open_private_chat(giving.api.make_user(ADMIN_ID, language_code="de"))
    events = [("evt_broken", "checkout.session.completed")]
    await report_unreadable_events(giving.application.bot, giving.services, events)
    told = await giving.api.wait_for_message(ADMIN_ID)
    assert told.text == plain(
        "en",
        "admin.unreadable_event",
        event="evt_broken",
        kind="checkout.session.completed",
        count=EVENT_ATTEMPTS,
    )
