"""One-time payments on the fake Stripe, driven by the real SDK.

Paying, settling, expiring, refunding and disputing; retrieval with expansion; and
objects that carry only the fields the SDK knows.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import stripe

from playground.stripe import FakeStripe
from tests.stripe_helpers import DAY, _assert_sdk_shape, create, donation

# fixtures: pytest looks them up by name; `as` tells ruff these imports are meant
from tests.stripe_helpers import client as client
from tests.stripe_helpers import stripe_fake as stripe_fake

# stripe 16's HTTPXClient passes the form body as `data=bytes`, which httpx 0.28 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


async def test_pay_then_retrieve_with_expansion(
    stripe_fake: FakeStripe, client: stripe.StripeClient
) -> None:
    session = await create(client, donation(2500, "eur"))
    event = stripe_fake.pay(session["id"], settle_currency="usd", exchange_rate=1.1)

    assert event["type"] == "checkout.session.completed"
    paid = event["data"]["object"]
    assert (paid["status"], paid["payment_status"]) == ("complete", "paid")
    assert paid["payment_intent"].startswith("pi_")
    assert paid["url"] is None

    plain = await client.v1.checkout.sessions.retrieve_async(session["id"])
    assert plain["payment_intent"] == paid["payment_intent"]

    expanded = await client.v1.checkout.sessions.retrieve_async(
        session["id"], {"expand": ["payment_intent.latest_charge.balance_transaction"]}
    )
    intent = expanded["payment_intent"]
    assert (intent["status"], intent["amount"], intent["currency"]) == ("succeeded", 2500, "eur")
    charge = intent["latest_charge"]
    assert charge["paid"] is True
    assert (charge["amount"], charge["amount_refunded"], charge["refunded"]) == (2500, 0, False)
    assert charge["payment_intent"] == intent["id"]
    transaction = charge["balance_transaction"]
    assert transaction["id"].startswith("txn_")
    assert (transaction["amount"], transaction["currency"]) == (2750, "usd")
    assert transaction["fee"] == round(2750 * 0.029) + 30
    assert transaction["net"] == transaction["amount"] - transaction["fee"]
    assert transaction["exchange_rate"] == pytest.approx(1.1)

    one_level = await client.v1.checkout.sessions.retrieve_async(
        session["id"], {"expand": ["payment_intent"]}
    )
    assert one_level["payment_intent"]["latest_charge"] == charge["id"]
    again = await client.v1.payment_intents.retrieve_async(
        intent["id"], {"expand": ["latest_charge"]}
    )
    assert again["latest_charge"]["balance_transaction"] == transaction["id"]
    assert (await client.v1.charges.retrieve_async(charge["id"]))["amount"] == 2500
    fetched = await client.v1.balance_transactions.retrieve_async(transaction["id"])
    assert fetched["net"] == transaction["net"]
    assert stripe_fake.violations == []


async def test_same_currency_settlement_has_no_exchange_rate(
    stripe_fake: FakeStripe, client: stripe.StripeClient
) -> None:
    session = await create(client, donation(1000, "usd"))
    stripe_fake.pay(session["id"], fee_rate=0.0, fee_fixed=0)
    intent = stripe_fake.payment_intents[stripe_fake.sessions[session["id"]]["payment_intent"]]
    charge = stripe_fake.charges[intent["latest_charge"]]
    transaction = stripe_fake.balance_transactions[charge["balance_transaction"]]
    assert (transaction["amount"], transaction["fee"], transaction["exchange_rate"]) == (
        1000,
        0,
        None,
    )


async def test_retrieve_errors(stripe_fake: FakeStripe, client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await client.v1.checkout.sessions.retrieve_async("cs_test_nope")
    error = caught.value
    assert (error.http_status, error.code, error.param) == (404, "resource_missing", "session")
    assert error.user_message == "No such checkout.session: 'cs_test_nope'"

    session = await create(client, donation())
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await client.v1.checkout.sessions.retrieve_async(session["id"], {"expand": ["colour"]})
    assert "cannot be expanded (colour)" in caught.value.user_message

    with pytest.raises(stripe.InvalidRequestError) as caught:
        await client.v1.charges.retrieve_async("ch_missing")
    assert caught.value.user_message == "No such charge: 'ch_missing'"


async def test_expire_over_the_api(stripe_fake: FakeStripe, client: stripe.StripeClient) -> None:
    session = await create(client, donation())
    expired = await client.v1.checkout.sessions.expire_async(
        session["id"], options={"idempotency_key": "expire-1"}
    )
    assert (expired["status"], expired["url"]) == ("expired", None)
    (event,) = stripe_fake.events
    assert event["type"] == "checkout.session.expired"
    request = stripe_fake.requests[-1]
    assert event["request"] == {"id": request.request_id, "idempotency_key": "expire-1"}

    with pytest.raises(stripe.InvalidRequestError) as caught:
        await client.v1.checkout.sessions.expire_async(session["id"])
    assert caught.value.http_status == 400
    assert stripe_fake.violations == []  # a state race, not an invalid request


async def test_sessions_expire_on_their_own(
    stripe_fake: FakeStripe, client: stripe.StripeClient
) -> None:
    stripe_fake.now = int(time.time())
    params = donation()
    del params["expires_at"]
    session = await create(client, params)
    assert stripe_fake.advance(DAY - 1) == []
    (event,) = stripe_fake.advance(1)
    assert event["type"] == "checkout.session.expired"
    retrieved = await client.v1.checkout.sessions.retrieve_async(session["id"])
    assert retrieved["status"] == "expired"
    with pytest.raises(ValueError, match="expired"):
        stripe_fake.pay(session["id"])


async def test_delayed_payment_succeeds_or_fails(
    stripe_fake: FakeStripe, client: stripe.StripeClient
) -> None:
    good = await create(client, donation())
    bad = await create(client, donation())

    completed = stripe_fake.pay_async(good["id"])
    assert completed["type"] == "checkout.session.completed"
    assert completed["data"]["object"]["payment_status"] == "unpaid"
    assert stripe_fake.charges == {}
    succeeded = stripe_fake.settle_async(good["id"], succeeded=True)
    assert succeeded["type"] == "checkout.session.async_payment_succeeded"
    assert succeeded["data"]["object"]["payment_status"] == "paid"
    (charge,) = stripe_fake.charges.values()
    assert charge["payment_method_details"]["type"] == "sepa_debit"

    stripe_fake.pay_async(bad["id"])
    failed = stripe_fake.settle_async(bad["id"], succeeded=False)
    assert failed["type"] == "checkout.session.async_payment_failed"
    assert failed["data"]["object"]["payment_status"] == "unpaid"
    with pytest.raises(ValueError, match="no processing payment"):
        stripe_fake.settle_async(bad["id"])


async def test_refunds_and_disputes(stripe_fake: FakeStripe, client: stripe.StripeClient) -> None:
    refunded_session = await create(client, donation(2500))
    disputed_session = await create(client, donation(4000))
    stripe_fake.pay(refunded_session["id"])
    stripe_fake.pay(disputed_session["id"])
    charge_id, disputed_charge_id = (
        stripe_fake.payment_intents[stripe_fake.sessions[s["id"]]["payment_intent"]][
            "latest_charge"
        ]
        for s in (refunded_session, disputed_session)
    )

    partial = stripe_fake.refund(charge_id, 1000)
    assert partial["type"] == "charge.refunded"
    assert partial["data"]["object"]["amount_refunded"] == 1000
    assert partial["data"]["object"]["refunded"] is False
    assert partial["data"]["previous_attributes"] == {"amount_refunded": 0}
    rest = stripe_fake.refund(charge_id)
    assert (rest["data"]["object"]["amount_refunded"], rest["data"]["object"]["refunded"]) == (
        2500,
        True,
    )
    with pytest.raises(ValueError, match="remains refundable"):
        stripe_fake.refund(charge_id, 1)

    created = stripe_fake.dispute(disputed_charge_id)
    dispute = created["data"]["object"]
    assert created["type"] == "charge.dispute.created"
    assert dispute["id"].startswith("dp_")
    assert (dispute["charge"], dispute["amount"], dispute["currency"]) == (
        disputed_charge_id,
        4000,
        "eur",
    )
    assert dispute["payment_intent"] == stripe_fake.charges[disputed_charge_id]["payment_intent"]
    assert dispute["status"] == "needs_response"
    with pytest.raises(ValueError, match="charged back"):
        stripe_fake.refund(disputed_charge_id)
    updated = stripe_fake.update_dispute(dispute["id"])
    assert updated["data"]["object"]["status"] == "under_review"
    closed = stripe_fake.close_dispute(dispute["id"], "won")
    assert closed["type"] == "charge.dispute.closed"
    assert closed["data"]["object"]["status"] == "won"
    assert closed["data"]["previous_attributes"] == {"status": "under_review"}
    fetched = await client.v1.disputes.retrieve_async(dispute["id"], {"expand": ["charge"]})
    assert fetched["charge"]["disputed"] is True


async def test_objects_only_carry_fields_the_sdk_knows(
    stripe_fake: FakeStripe, client: stripe.StripeClient
) -> None:
    session = await create(client, donation())
    stripe_fake.pay(session["id"])
    charge_id = next(iter(stripe_fake.charges))
    stripe_fake.refund(charge_id, 100)
    stripe_fake.dispute(charge_id)
    stores: list[tuple[dict[str, dict[str, Any]], type]] = [
        (stripe_fake.sessions, stripe.checkout.Session),
        (stripe_fake.payment_intents, stripe.PaymentIntent),
        (stripe_fake.charges, stripe.Charge),
        (stripe_fake.balance_transactions, stripe.BalanceTransaction),
        (stripe_fake.refunds, stripe.Refund),
        (stripe_fake.disputes, stripe.Dispute),
        (stripe_fake.payment_methods, stripe.PaymentMethod),
        ({event["id"]: event for event in stripe_fake.events}, stripe.Event),
    ]
    for store, resource in stores:
        for obj in store.values():
            _assert_sdk_shape(obj, resource)
    (item,) = stripe_fake.session_line_items(session["id"])
    _assert_sdk_shape(item, stripe.LineItem)
    _assert_sdk_shape(item["price"], stripe.Price)
