"""Monthly giving on the fake Stripe: subscription-mode Checkout, invoices, renewals, cancelling."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import stripe

from playground.stripe import FakeStripe
from tests.stripe_helpers import (
    _assert_sdk_shape,
    _sdk_fields,
    create,
    donation,
    monthly,
    price_data,
)

# fixtures: pytest looks them up by name; `as` tells ruff these imports are meant
from tests.stripe_helpers import client as client
from tests.stripe_helpers import stripe_fake as stripe_fake

# stripe 16's HTTPXClient passes the form body as `data=bytes`, which httpx 0.28 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


#: 2027-01-31 12:00 UTC: monthly periods clamp to Feb 28, then return to the 31st.
JAN_31 = int(datetime(2027, 1, 31, 12, tzinfo=UTC).timestamp())


#: Fields API 2025-03-31.basil removed from invoices.
REMOVED_INVOICE_FIELDS = {"subscription", "payment_intent", "charge", "paid", "paid_out_of_band"}


async def test_subscription_mode_session(
    stripe_fake: FakeStripe, client: stripe.StripeClient
) -> None:
    params = donation(
        amount=1000, mode="subscription", subscription_data={"metadata": {"intent": "m1"}}
    )
    del params["submit_type"], params["adaptive_pricing"]
    price_data(params)["recurring"] = {"interval": "month"}
    session = await create(client, params)
    assert (session["mode"], session["amount_total"]) == ("subscription", 1000)
    event = stripe_fake.pay(session["id"])
    assert event["data"]["object"]["subscription"].startswith("sub_")
    retrieved = await client.v1.checkout.sessions.retrieve_async(
        session["id"], {"expand": ["subscription", "customer"]}
    )
    subscription = retrieved["subscription"]
    assert (subscription["status"], subscription["metadata"]["intent"]) == ("active", "m1")
    assert subscription["customer"] == retrieved["customer"]["id"]
    assert subscription["items"]["data"][0]["price"]["recurring"]["interval"] == "month"
    for obj, resource in [
        (stripe_fake.subscriptions[subscription["id"]], stripe.Subscription),
        (stripe_fake.customers[retrieved["customer"]["id"]], stripe.Customer),
    ]:
        assert set(obj) <= _sdk_fields(resource), resource.__name__
    assert set(subscription["items"]["data"][0].to_dict()) <= _sdk_fields(stripe.SubscriptionItem)

    with pytest.raises(stripe.InvalidRequestError) as caught:
        await create(client, {**params, "line_items": donation()["line_items"]})
    assert "at least one recurring price" in caught.value.user_message


async def _subscribed(
    stripe_fake: FakeStripe, client: stripe.StripeClient
) -> dict[str, dict[str, Any]]:
    """A monthly donation of €10 created over the SDK on Jan 31 and paid (settled in USD)."""
    stripe_fake.now = JAN_31
    session = await create(client, monthly(expires_at=JAN_31 + 3600))
    return stripe_fake.pay_subscription(session["id"], settle_currency="usd", exchange_rate=1.1)


async def test_pay_subscription_creates_what_stripe_creates(
    stripe_fake: FakeStripe, client: stripe.StripeClient
) -> None:
    events = await _subscribed(stripe_fake, client)
    assert list(events) == [
        "customer.subscription.created",
        "invoice_payment.paid",
        "invoice.paid",
        "invoice.payment_succeeded",
        "checkout.session.completed",
    ]
    assert [event["type"] for event in stripe_fake.events] == list(events)

    session = events["checkout.session.completed"]["data"]["object"]
    assert (session["status"], session["payment_status"]) == ("complete", "paid")
    assert session["payment_intent"] is None
    sub_id, invoice_id, customer_id = (
        session["subscription"],
        session["invoice"],
        session["customer"],
    )
    assert (sub_id[:4], invoice_id[:3], customer_id[:4]) == ("sub_", "in_", "cus_")

    subscribed = events["customer.subscription.created"]["data"]["object"]
    assert (subscribed["status"], subscribed["customer"]) == ("active", customer_id)
    assert subscribed["metadata"] == {"intent": "monthly-1", "chat": "42"}
    assert (subscribed["latest_invoice"], subscribed["start_date"]) == (invoice_id, JAN_31)
    (item,) = subscribed["items"]["data"]
    assert (item["price"]["unit_amount"], item["price"]["currency"]) == (1000, "eur")
    assert item["price"]["recurring"]["interval"] == "month"
    feb_28 = int(datetime(2027, 2, 28, 12, tzinfo=UTC).timestamp())
    assert (item["current_period_start"], item["current_period_end"]) == (JAN_31, feb_28)

    paid = events["invoice.paid"]["data"]["object"]
    assert events["invoice.payment_succeeded"]["data"]["object"] == paid
    assert (paid["status"], paid["billing_reason"]) == ("paid", "subscription_create")
    assert (paid["amount_due"], paid["amount_paid"], paid["currency"]) == (1000, 1000, "eur")
    assert paid["customer"] == customer_id
    assert paid["parent"] == {
        "type": "subscription_details",
        "quote_details": None,
        "subscription_details": {"subscription": sub_id, "metadata": subscribed["metadata"]},
    }
    assert not REMOVED_INVOICE_FIELDS & set(paid)
    assert "payments" not in paid  # includable: only when expanded, never in events
    (line,) = paid["lines"]["data"]
    assert line["description"] == "1 × Donation (at €10.00 / month)"
    assert line["period"] == {"start": JAN_31, "end": feb_28}

    payment = events["invoice_payment.paid"]["data"]["object"]
    assert payment["invoice"] == invoice_id
    assert (payment["status"], payment["amount_paid"], payment["payment"]["type"]) == (
        "paid",
        1000,
        "payment_intent",
    )

    # The SDK sees the same objects; the PaymentIntent settles like a one-time payment.
    fetched = await client.v1.invoices.retrieve_async(
        invoice_id, {"expand": ["payments.data.payment.payment_intent.latest_charge"]}
    )
    (listed,) = fetched.payments.data
    assert listed.id == payment["id"]
    intent = listed.payment.payment_intent
    assert (intent.status, intent.amount, intent.currency) == ("succeeded", 1000, "eur")
    assert (intent.customer, intent.description) == (customer_id, "Subscription creation")
    charge = intent.latest_charge
    assert (charge.payment_intent, charge.amount, charge.paid) == (intent.id, 1000, True)
    transaction = stripe_fake.balance_transactions[charge.balance_transaction]
    assert (transaction["amount"], transaction["currency"]) == (1100, "usd")
    assert transaction["fee"] == round(1100 * 0.029) + 30
    plain = await client.v1.invoices.retrieve_async(invoice_id)
    assert "payments" not in plain
    assert plain.parent.subscription_details.metadata.to_dict() == subscribed["metadata"]
    retrieved = await client.v1.subscriptions.retrieve_async(
        sub_id, {"expand": ["latest_invoice.payments", "customer"]}
    )
    assert retrieved.latest_invoice.payments.data[0].payment.payment_intent == intent.id
    assert retrieved.customer.email == "donor@example.com"
    assert stripe_fake.payment_methods[retrieved.default_payment_method]["customer"] == (
        customer_id
    )

    stores: list[tuple[dict[str, dict[str, Any]], type]] = [
        (stripe_fake.subscriptions, stripe.Subscription),
        (stripe_fake.invoices, stripe.Invoice),
        (stripe_fake.invoice_payments, stripe.InvoicePayment),
        (stripe_fake.customers, stripe.Customer),
        (stripe_fake.sessions, stripe.checkout.Session),
        (stripe_fake.payment_intents, stripe.PaymentIntent),
        (stripe_fake.charges, stripe.Charge),
        ({event["id"]: event for event in stripe_fake.events}, stripe.Event),
    ]
    for store, resource in stores:
        for obj in store.values():
            _assert_sdk_shape(obj, resource)
    assert stripe_fake.violations == []


async def test_renewals_refunds_and_cancellation(
    stripe_fake: FakeStripe, client: stripe.StripeClient
) -> None:
    events = await _subscribed(stripe_fake, client)
    sub_id = events["checkout.session.completed"]["data"]["object"]["subscription"]
    first_invoice = events["invoice.paid"]["data"]["object"]
    feb_28 = int(datetime(2027, 2, 28, 12, tzinfo=UTC).timestamp())
    mar_31 = int(datetime(2027, 3, 31, 12, tzinfo=UTC).timestamp())
    stripe_fake.now = feb_28
    renewed = stripe_fake.renew(sub_id, fee_rate=0, fee_fixed=0)

    assert renewed["type"] == "invoice.paid"
    cycle = renewed["data"]["object"]
    assert (cycle["billing_reason"], cycle["amount_paid"], cycle["created"]) == (
        "subscription_cycle",
        1000,
        feb_28,
    )
    assert cycle["parent"]["subscription_details"]["subscription"] == sub_id
    assert first_invoice["number"].endswith("-0001")
    assert cycle["number"] == first_invoice["number"].replace("-0001", "-0002")
    assert cycle["lines"]["data"][0]["period"] == {"start": feb_28, "end": mar_31}
    assert [event["type"] for event in stripe_fake.events[-4:]] == [
        "customer.subscription.updated",
        "invoice_payment.paid",
        "invoice.paid",
        "invoice.payment_succeeded",
    ]
    updated = stripe_fake.events[-4]["data"]
    assert updated["object"]["latest_invoice"] == cycle["id"]
    assert updated["previous_attributes"]["latest_invoice"] == first_invoice["id"]
    (payment,) = stripe_fake.payments_of(cycle["id"])
    intent = stripe_fake.payment_intents[payment["payment"]["payment_intent"]]
    assert intent["description"] == "Subscription update"
    assert intent["payment_method"] == stripe_fake.subscriptions[sub_id]["default_payment_method"]
    charge_id = intent["latest_charge"]
    transaction = stripe_fake.balance_transactions[
        stripe_fake.charges[charge_id]["balance_transaction"]
    ]
    assert (transaction["amount"], transaction["fee"]) == (1000, 0)

    # The invoice's charge can be refunded or disputed like any other.
    refunded = stripe_fake.refund(charge_id, 400)
    assert refunded["data"]["object"]["payment_intent"] == intent["id"]
    disputed = stripe_fake.dispute(charge_id)
    assert disputed["data"]["object"]["payment_intent"] == intent["id"]

    invoices = await client.v1.invoices.list_async({"subscription": sub_id})
    assert [found.id for found in invoices.data] == [cycle["id"], first_invoice["id"]]
    listed = await client.v1.invoice_payments.list_async({"invoice": cycle["id"]})
    assert [found.id for found in listed.data] == [payment["id"]]

    customer_id = stripe_fake.subscriptions[sub_id]["customer"]
    cancelled = await client.v1.subscriptions.cancel_async(
        sub_id, {"cancellation_details": {"feedback": "too_expensive"}}
    )
    assert (cancelled.status, cancelled.canceled_at, cancelled.ended_at) == (
        "canceled",
        feb_28,
        feb_28,
    )
    assert cancelled.cancellation_details.to_dict() == {
        "comment": None,
        "feedback": "too_expensive",
        "reason": "cancellation_requested",
    }
    deleted = stripe_fake.events[-1]
    assert deleted["type"] == "customer.subscription.deleted"
    assert deleted["data"]["object"]["status"] == "canceled"
    assert deleted["request"]["id"] == stripe_fake.requests[-1].request_id
    assert stripe_fake.violations == []

    with pytest.raises(stripe.InvalidRequestError) as again:
        await client.v1.subscriptions.cancel_async(sub_id)
    assert again.value.http_status == 400
    assert "canceled subscription" in again.value.user_message
    assert stripe_fake.violations == []  # a state race, not an invalid request
    with pytest.raises(stripe.InvalidRequestError) as missing:
        await client.v1.subscriptions.cancel_async("sub_missing")
    assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")
    assert missing.value.user_message == "No such subscription: 'sub_missing'"
    with pytest.raises(ValueError, match="canceled"):
        stripe_fake.renew(sub_id)
    with pytest.raises(ValueError, match="already canceled"):
        stripe_fake.cancel_subscription(sub_id)

    active = await client.v1.subscriptions.list_async({"customer": customer_id})
    ended = await client.v1.subscriptions.list_async({"customer": customer_id, "status": "ended"})
    assert (active.data, [found.id for found in ended.data]) == ([], [sub_id])

    types = ["invoice.paid", "customer.subscription.deleted", "customer.subscription.created"]
    page = await client.v1.events.list_async({"types": types})
    assert [event.type for event in page.data] == [
        "customer.subscription.deleted",
        "invoice.paid",
        "invoice.paid",
        "customer.subscription.created",
    ]


async def test_test_side_cancel_and_one_time_extras(
    stripe_fake: FakeStripe, client: stripe.StripeClient
) -> None:
    params = monthly()
    params["line_items"].append(
        {
            "price_data": {
                "currency": "eur",
                "unit_amount": 500,
                "product_data": {"name": "Welcome gift"},
            },
            "quantity": 1,
        }
    )
    session = await create(client, params)
    assert session["amount_total"] == 1500
    completed = stripe_fake.pay(session["id"])  # pay() does the same in subscription mode
    sub_id = completed["data"]["object"]["subscription"]
    first = stripe_fake.invoices[completed["data"]["object"]["invoice"]]
    assert [line["amount"] for line in first["lines"]["data"]] == [1000, 500]
    assert [line["parent"]["type"] for line in first["lines"]["data"]] == [
        "subscription_item_details",
        "invoice_item_details",
    ]
    assert len(stripe_fake.subscriptions[sub_id]["items"]["data"]) == 1
    renewed = stripe_fake.renew(sub_id)["data"]["object"]
    assert renewed["amount_paid"] == 1000  # the one-time price is not billed again

    event = stripe_fake.cancel_subscription(sub_id, comment="moving abroad")
    assert event["type"] == "customer.subscription.deleted"
    assert event["data"]["object"]["cancellation_details"]["comment"] == "moving abroad"
    with pytest.raises(KeyError):
        stripe_fake.renew("sub_missing")
    with pytest.raises(ValueError, match="payment mode"):
        stripe_fake.pay_subscription((await create(client, donation()))["id"])


@pytest.mark.parametrize(
    ("change", "param", "message"),
    [
        (
            lambda p: price_data(p).update(recurring={"interval_count": 1}),
            "line_items[0][price_data][recurring][interval]",
            "Missing required param",
        ),
        (
            lambda p: price_data(p)["recurring"].update(interval="fortnight"),
            "line_items[0][price_data][recurring][interval]",
            "must be one of day, month, week, or year",
        ),
        (
            lambda p: price_data(p)["recurring"].update(interval_count=13),
            "line_items[0][price_data][recurring][interval_count]",
            "maximum billing period is one year",
        ),
        (
            lambda p: price_data(p).pop("recurring"),
            "line_items",
            "at least one recurring price",
        ),
        (
            lambda p: p["line_items"].append(
                {
                    **p["line_items"][0],
                    "price_data": {**price_data(p), "recurring": {"interval": "week"}},
                }
            ),
            "line_items[1][price_data][recurring]",
            "same `recurring.interval`",
        ),
        (
            lambda p: p.update(subscription_data={"metadata": {"k" * 41: "v"}}),
            f"subscription_data[metadata][{'k' * 41}]",
            "40 characters",
        ),
        (
            lambda p: p.update(payment_intent_data={"metadata": {"a": "b"}}),
            "payment_intent_data",
            "`subscription` mode",
        ),
    ],
    ids=[
        "no-interval",
        "bad-interval",
        "over-a-year",
        "no-recurring",
        "mixed",
        "metadata",
        "pi-data",
    ],
)
async def test_subscription_mode_validation(
    stripe_fake: FakeStripe,
    client: stripe.StripeClient,
    change: Callable[[dict[str, Any]], None],
    param: str,
    message: str,
) -> None:
    params = monthly()
    change(params)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await create(client, params)
    assert (caught.value.http_status, caught.value.param) == (400, param)
    assert message in caught.value.user_message
    assert stripe_fake.sessions_created == 0


async def test_subscription_endpoints_refuse_bad_requests(
    stripe_fake: FakeStripe, client: stripe.StripeClient
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await client.v1.invoices.retrieve_async("in_missing")
    assert caught.value.user_message == "No such invoice: 'in_missing'"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await client.v1.subscriptions.list_async({"status": "gone"})
    assert caught.value.param == "status"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await client.v1.subscriptions.cancel_async(
            "sub_x", {"cancellation_details": {"feedback": "meh"}}
        )
    assert caught.value.param == "cancellation_details[feedback]"
    assert [request.status for request in stripe_fake.violations] == [404, 400, 400]
