"""What the raised total counts, and what the admin and subscribers are told of it.

Refunds, disputes, expired and failed sessions, payments found by reconciliation, the
settled amount and fees, forgetting a donor, /stats and the CSV export, and milestones.
"""

import csv
import io
from http import HTTPStatus

from tests.conftest import ADMIN_ID
from tests.test_broadcasts import is_news
from tests.test_conversation import plain, say
from tests.test_donations import DONOR, deliver, donate, giving_bot, kept_total, only_session

# fixtures: pytest looks them up by name; `as` tells ruff these imports are meant
from tests.test_donations import giving as giving
from tgbot.payments.money import Money
from tgbot.text.i18n import texts


async def test_refund_before_completion_and_partial_refunds(giving):
    user = giving.api.make_user(DONOR, language_code="en")
    await donate(giving, user, "/donate 100 EUR")
    completed = giving.stripe.pay(only_session(giving)["id"])
    charge = next(iter(giving.stripe.charges))
    first = giving.stripe.refund(charge, 2000)
    second = giving.stripe.refund(charge, 3000)  # cumulative 5000
    for event in (second, first, completed):  # the worst order
        assert (await deliver(giving, event)).status_code == HTTPStatus.OK
    assert await kept_total(giving) == Money(5000, "eur")


async def paid_charge(giving) -> str:
    """A 25 EUR gift, paid and recorded; returns its charge's id."""
    await donate(giving, giving.api.make_user(DONOR, language_code="en"))
    await deliver(giving, giving.stripe.pay(only_session(giving)["id"]))
    return next(iter(giving.stripe.charges))


async def test_disputes_hold_the_money_until_won(giving):
    charge = await paid_charge(giving)
    opened = giving.stripe.dispute(charge)
    dispute = opened["data"]["object"]["id"]
    closed = giving.stripe.close_dispute(dispute, status="won")
    await deliver(giving, opened)
    assert await kept_total(giving) == Money(0, "eur")
    await deliver(giving, closed)
    assert await kept_total(giving) == Money(2500, "eur")


async def test_refund_events_out_of_order_and_a_failed_refund_keep_the_charges_truth(giving):
    """Each refund event is checked against the charge: a late, older event changes nothing,
    and a refund that fails afterwards is no longer taken off the total."""
    charge = await paid_charge(giving)
    first = giving.stripe.refund(charge, 500)
    second = giving.stripe.refund(charge, 1000)
    await deliver(giving, second)
    await deliver(giving, first)  # delivered late: it said 500, the charge says 1500
    assert await kept_total(giving) == Money(1000, "eur")
    refund = next(r for r in giving.stripe.refunds.values() if r["amount"] == 1000)
    await deliver(giving, giving.stripe.fail_refund(refund["id"]))
    assert await kept_total(giving) == Money(2000, "eur")


async def test_a_dispute_inquiry_is_not_counted_as_money_returned(giving):
    """Stripe takes no funds for an inquiry; only its escalation to a dispute holds money."""
    charge = await paid_charge(giving)
    opened = giving.stripe.dispute(charge, inquiry=True)
    await deliver(giving, opened)
    assert await kept_total(giving) == Money(2500, "eur")
    dispute = opened["data"]["object"]["id"]
    await deliver(giving, giving.stripe.update_dispute(dispute, "needs_response"))
    assert await kept_total(giving) == Money(0, "eur")


async def test_expired_and_failed_sessions_are_not_counted(giving):
    user = giving.api.make_user(DONOR, language_code="en")
    await donate(giving, user, "/donate 10 EUR")
    await deliver(giving, giving.stripe.expire(only_session(giving)["id"]))
    await donate(giving, user, "/donate 11 EUR")
    second = next(s for s in giving.stripe.sessions.values() if s["amount_total"] == 1100)
    await deliver(giving, giving.stripe.pay_async(second["id"]))
    await deliver(giving, giving.stripe.settle_async(second["id"], succeeded=False))
    statuses = sorted(row.status for row in await giving.services.storage.donations.export())
    assert statuses == ["expired", "failed"]
    assert await kept_total(giving) == Money(0, "eur")
    assert [m.text for m in giving.api.sent_messages(DONOR) if "Thank" in m.text] == []


async def test_reconciliation_counts_a_payment_whose_webhook_never_came(giving):
    user = giving.api.make_user(DONOR, language_code="en")
    await donate(giving, user)
    giving.stripe.pay(only_session(giving)["id"], settle_currency="usd", exchange_rate=1.1)
    report = await giving.services.payments.reconcile()
    assert (report.events_applied, report.thanks_due) == (1, True)
    assert (await giving.services.payments.reconcile()).events_applied == 0  # nothing twice
    (row,) = await giving.services.storage.donations.totals()
    assert (row.settled_currency, row.settled_kept) == ("usd", 2750)


async def test_settled_amount_and_fee_are_read_back_after_payment(giving):
    user = giving.api.make_user(DONOR, language_code="en")
    await donate(giving, user)
    event = giving.stripe.pay(only_session(giving)["id"], settle_currency="usd", exchange_rate=1.08)
    await deliver(giving, event)
    await giving.api.wait_for_message(DONOR)  # thanks are sent after the settlement is read
    (row,) = await giving.services.storage.donations.totals()
    assert (row.settled_currency, row.settled_kept, row.gross) == ("usd", 2700, 2500)
    assert (
        row.fees
        == giving.stripe.balance_transactions[next(iter(giving.stripe.balance_transactions))]["fee"]
    )


async def test_forget_unlinks_donations_and_keeps_the_total(giving):
    user = giving.api.make_user(DONOR, language_code="en")
    await donate(giving, user)
    event = giving.stripe.pay_async(only_session(giving)["id"])
    await deliver(giving, event)
    question = await say(giving, user, "/forget")
    giving.api.press_button(user, question, "forget:yes")
    assert (await giving.api.wait_for_message(DONOR)).text == plain("en", "forget.done")
    await deliver(giving, giving.stripe.settle_async(only_session(giving)["id"]))
    assert await kept_total(giving) == Money(2500, "eur")
    assert [m for m in giving.api.sent_messages(DONOR) if "Thank" in m.text] == []


async def test_admin_stats_and_csv_export_carry_no_personal_data(giving):
    donor = giving.api.make_user(DONOR, language_code="en")
    await donate(giving, donor)
    await deliver(giving, giving.stripe.pay(only_session(giving)["id"], settle_currency="eur"))
    await giving.api.wait_for_message(DONOR)  # the thank-you
    admin = giving.api.make_user(ADMIN_ID, language_code="en")
    stats = await say(giving, admin, "/stats")
    assert "€25.00 from 1 donation" in stats.text
    export = await say(giving, admin, "/export_donations")
    assert export.method == "sendDocument"
    (upload,) = giving.api.files.values()
    rows = list(csv.reader(io.StringIO(upload.data.decode())))
    assert rows[0][:4] == ["created_utc", "paid_utc", "amount", "currency"]
    assert rows[1][2:6] == ["25", "EUR", "once", "paid"]
    assert str(DONOR) not in upload.data.decode()
    assert (await say(giving, donor, "/stats")).text == plain("en", "error.unknown_command")


async def test_admin_stats_show_refunds_and_stripe_fees(giving):
    donor = giving.api.make_user(DONOR, language_code="en")
    await donate(giving, donor)
    await deliver(giving, giving.stripe.pay(only_session(giving)["id"], settle_currency="usd"))
    await giving.api.wait_for_message(DONOR)  # thanks, after the settlement was read
    await deliver(giving, giving.stripe.refund(next(iter(giving.stripe.charges)), 500))
    admin = giving.api.make_user(ADMIN_ID, language_code="en")
    stats = await say(giving, admin, "/stats")
    fee = next(iter(giving.stripe.balance_transactions.values()))["fee"]
    assert "€20.00 from 1 donation" in stats.text
    assert plain("en", "admin.returned", amounts="€5.00") in stats.text
    assert plain("en", "admin.fees", amounts=texts("en").money(Money(fee, "usd"))) in stats.text


async def test_milestones_reach_subscribers_once_each(
    bot_api, stripe_fake, make_settings, stripe_settings
):
    settings = make_settings(**stripe_settings, milestone_step="20")
    async with giving_bot(bot_api, stripe_fake, settings) as giving:
        fan = giving.api.make_user(61, language_code="de")
        await say(giving, fan, "/subscribe")
        donor = giving.api.make_user(DONOR, language_code="en")
        events = []
        for amount in ("25", "10", "10"):  # totals €25, €35, €45
            await donate(giving, donor, f"/donate {amount} EUR")
            session = list(giving.stripe.sessions.values())[-1]
            events.append(giving.stripe.pay(session["id"]))
            await deliver(giving, events[-1])
            await giving.api.wait_for_message(DONOR)  # the thank-you
        await deliver(giving, events[0])  # a redelivery changes nothing
        await giving.services.payments.reconcile()
        for reached in ("20,00\xa0€", "40,00\xa0€"):
            news = await giving.api.wait_for_message(61, predicate=is_news)
            assert news.text.startswith("🎉")
            assert reached in news.text
        milestones = [b.milestone for b in await giving.storage.broadcasts.recent(10)]
        assert milestones == [2, 1]
        assert len([m for m in giving.api.sent_messages(61) if is_news(m)]) == 2
