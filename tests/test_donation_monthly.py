"""Monthly gifts: subscription Checkout, every invoice counted once, /mydonations, refunds."""

import asyncio
import copy
import json
from http import HTTPStatus

from tests.test_conversation import plain, say
from tests.test_donations import DONOR, deliver, kept_total, start_monthly

# fixtures: pytest looks them up by name; `as` tells ruff these imports are meant
from tests.test_donations import giving as giving
from tgbot.payments.money import Money
from tgbot.text.i18n import texts


async def test_a_monthly_gift_counts_every_invoice_once_and_thanks_once(giving):
    user = giving.api.make_user(DONOR, language_code="en")
    session = await start_monthly(giving, user)
    (request,) = giving.stripe.requests_to("POST", "/v1/checkout/sessions")
    assert request.params["mode"] == "subscription"
    assert request.params["line_items"][0]["price_data"]["recurring"] == {"interval": "month"}
    intent = request.params["client_reference_id"]
    assert request.params["subscription_data"] == {"metadata": {"intent": intent}}
    assert "submit_type" not in request.params

    events = giving.stripe.pay_subscription(session["id"])
    for event in events.values():  # session completed + first invoice, and the rest
        assert (await deliver(giving, event)).status_code == HTTPStatus.OK
    thanks = await giving.api.wait_for_message(DONOR)
    assert thanks.text.startswith(
        plain("en", "donate.thanks_monthly", amount=Money(1000, "eur"), impact="").split("\n")[0]
    )
    assert await kept_total(giving) == Money(1000, "eur")  # the first month, not twice

    subscription = next(iter(giving.stripe.subscriptions))
    renewal = giving.stripe.renew(subscription)
    await deliver(giving, renewal)
    await deliver(giving, renewal)  # a duplicate
    assert await kept_total(giving) == Money(2000, "eur")
    await say(giving, user, "/help")
    assert len([m for m in giving.api.sent_messages(DONOR) if "Thank you" in m.text]) == 1


async def test_an_invoice_in_the_older_api_shape_counts_too(giving):
    """Events keep the API version they were created with: before 2025-03-31 an invoice named
    its subscription at the top, not under `parent.subscription_details`."""
    user = giving.api.make_user(DONOR, language_code="en")
    session = await start_monthly(giving, user)
    for event in giving.stripe.pay_subscription(session["id"]).values():
        await deliver(giving, event)
    await giving.api.wait_for_message(DONOR)  # the thank-you
    renewal = copy.deepcopy(giving.stripe.renew(next(iter(giving.stripe.subscriptions))))
    invoice = renewal["data"]["object"]
    details = invoice.pop("parent")["subscription_details"]
    invoice["subscription"] = details["subscription"]
    invoice["subscription_details"] = {"metadata": details["metadata"]}
    renewal |= {"id": "evt_older_shape", "api_version": "2024-06-20"}
    assert (await deliver(giving, renewal)).status_code == HTTPStatus.OK
    assert await kept_total(giving) == Money(2000, "eur")


async def test_mydonations_lists_and_cancels_only_your_own_monthly_gift(giving):
    user = giving.api.make_user(DONOR, language_code="en")
    session = await start_monthly(giving, user, amount=2500)
    for event in giving.stripe.pay_subscription(session["id"]).values():
        await deliver(giving, event)
    await giving.api.wait_for_message(DONOR)  # thanks
    mine = await say(giving, user, "/mydonations")
    subscription = next(iter(giving.stripe.subscriptions))
    (gift,) = await giving.storage.donations.monthly_gifts(DONOR)
    assert (
        plain("en", "mine.monthly", amount=Money(2500, "eur"), date="x").split(",")[0] in mine.text
    )
    assert mine.buttons == [
        {
            "text": texts("en")("mine.cancel_button", amount=Money(2500, "eur")),
            "callback_data": f"mine:{gift.ref}",  # a local reference: no Stripe id in the chat
        }
    ]
    assert subscription not in json.dumps(giving.api.history(DONOR))
    stranger = giving.api.make_user(DONOR + 1, language_code="en")
    menu = await say(giving, stranger, "/start")  # forged data on a message of their own
    giving.api.press_button(stranger, menu, f"mine:{gift.ref}", check_button=False)
    assert (await giving.api.wait_for_message(DONOR + 1)).text == plain("en", "mine.not_found")
    assert giving.stripe.subscriptions[subscription]["status"] == "active"

    giving.api.press_button(user, mine, f"mine:{gift.ref}")
    canceled = await giving.api.wait_for_message(DONOR)
    assert canceled.text == plain("en", "mine.canceled", amount=Money(2500, "eur"))
    assert giving.stripe.subscriptions[subscription]["status"] == "canceled"
    ended = next(e for e in giving.stripe.events if e["type"] == "customer.subscription.deleted")
    assert (await deliver(giving, ended)).status_code == HTTPStatus.OK
    assert (await say(giving, user, "/mydonations")).text.endswith(plain("en", "mine.none_monthly"))


async def test_forget_warns_about_a_running_monthly_gift(giving):
    user = giving.api.make_user(DONOR, language_code="en")
    session = await start_monthly(giving, user)
    for event in giving.stripe.pay_subscription(session["id"]).values():
        await deliver(giving, event)
    await giving.api.wait_for_message(DONOR)
    question = await say(giving, user, "/forget")
    assert question.text.startswith(plain("en", "forget.monthly_active"))


async def test_a_refund_of_a_monthly_payment_is_matched_through_its_invoice(giving):
    user = giving.api.make_user(DONOR, language_code="en")
    session = await start_monthly(giving, user)
    for event in giving.stripe.pay_subscription(session["id"], settle_currency="eur").values():
        await deliver(giving, event)
    await giving.api.wait_for_message(DONOR)  # thanked
    for _ in range(100):  # the follow-up run looks the invoice's payment up
        (donation,) = await giving.services.storage.donations.export()
        if donation.payment_intent_id:
            break
        await asyncio.sleep(0.02)
    assert donation.payment_intent_id in giving.stripe.payment_intents
    charge = next(iter(giving.stripe.charges))
    await deliver(giving, giving.stripe.refund(charge, 400))
    assert await kept_total(giving) == Money(600, "eur")
