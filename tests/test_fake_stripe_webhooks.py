"""Webhooks from the fake Stripe: signed, delivered, dropped, resent, failed.

Signatures the SDK verifies, delivery to an endpoint after a payment on the page, the
playground's controls (drop, resend, refund) and deliveries that fail or are cut off.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time

import httpx
import pytest
import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from playground.stripe import FakeStripe
from tests.stripe_helpers import (
    API_KEY,
    SECRET,
    Receiver,
    create,
    donation,
    monthly,
    pay_on_page,
    webhook_receiver,
)

# fixtures: pytest looks them up by name; `as` tells ruff these imports are meant
from tests.stripe_helpers import client as client
from tests.stripe_helpers import receiver as receiver
from tests.stripe_helpers import stripe_fake as stripe_fake

# stripe 16's HTTPXClient passes the form body as `data=bytes`, which httpx 0.28 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


# =============================================================================================
# Signed events
# =============================================================================================


async def test_signed_events_verify_with_the_sdk(
    stripe_fake: FakeStripe, client: stripe.StripeClient
) -> None:
    session = await create(client, donation(metadata={"intent": "intent-abc", "note": "спасибо"}))
    event = stripe_fake.pay(session["id"])
    body, header = stripe_fake.signed(event)
    assert "спасибо".encode() in body  # raw UTF-8, as Stripe sends it

    verified = stripe.Webhook.construct_event(body, header, SECRET, tolerance=300)
    assert (verified.id, verified.type) == (event["id"], "checkout.session.completed")
    assert verified["data"]["object"]["client_reference_id"] == "intent-abc"
    assert json.loads(body) == event

    failures = {
        "tampered": (body.replace(b"2500", b"9999"), header, SECRET),
        "reserialised": (json.dumps(json.loads(body)).encode(), header, SECRET),
        "other secret": (body, header, "whsec_other"),
        "old": (body, stripe_fake.signed(event, timestamp=int(time.time()) - 600)[1], SECRET),
    }
    for name, (payload, signature, secret) in failures.items():
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.Webhook.construct_event(payload, signature, secret, tolerance=300)
            pytest.fail(f"{name} payload verified")


async def test_deliver_posts_a_signed_event(
    stripe_fake: FakeStripe, client: stripe.StripeClient
) -> None:
    received: list[str] = []

    async def webhook(request: Request) -> Response:
        try:
            event = stripe.Webhook.construct_event(
                await request.body(), request.headers.get("stripe-signature"), SECRET
            )
        except stripe.SignatureVerificationError:
            return Response(status_code=400)
        received.append(event.type)
        return Response(status_code=200)

    app = Starlette(routes=[Route("/stripe/webhook", webhook, methods=["POST"])])
    session = await create(client, donation())
    event = stripe_fake.pay(session["id"])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as bot:
        ok = await stripe_fake.deliver(event, "http://bot/stripe/webhook", client=bot)
        forged = await stripe_fake.deliver(
            event, "http://bot/stripe/webhook", client=bot, secret="whsec_forged"
        )
    assert (ok.status_code, forged.status_code) == (200, 400)
    assert received == ["checkout.session.completed"]
    assert [delivery.status for delivery in stripe_fake.deliveries] == [200, 400]


# =============================================================================================
# Automatic delivery and the playground's controls
# =============================================================================================


async def test_paying_on_the_page_delivers_a_signed_webhook(
    stripe_fake: FakeStripe, client: stripe.StripeClient, receiver: Receiver
) -> None:
    session = await create(client, donation(success_url="https://example.org/thanks"))
    paid = await pay_on_page(session["url"])
    assert paid.status_code == 303
    assert paid.headers["location"] == "https://example.org/thanks"

    (attempt,) = await stripe_fake.flush_webhooks()
    (event,) = stripe_fake.events
    assert receiver.rejected == 0
    assert receiver.types == ["checkout.session.completed"]
    assert receiver.ids == [event["id"]]
    assert receiver.events[0]["data"]["object"]["id"] == session["id"]
    assert (attempt.event_id, attempt.url, attempt.status) == (event["id"], receiver.url, 200)
    assert (attempt.outcome, attempt.dropped, attempt.resend, attempt.error) == (
        "delivered",
        False,
        False,
        None,
    )
    assert abs(attempt.at - time.time()) < 5
    assert attempt.describe() == f"{event['id']} checkout.session.completed: delivered (HTTP 200)"


async def test_a_subscription_paid_on_the_page_delivers_its_events_in_order(
    stripe_fake: FakeStripe, client: stripe.StripeClient, receiver: Receiver
) -> None:
    session = await create(client, monthly(locale="en"))
    async with httpx.AsyncClient() as browser:
        page = await browser.get(session["url"])
    assert '<span id="checkout-amount">€10.00</span> per month' in page.text
    assert (await pay_on_page(session["url"])).status_code == 303
    await stripe_fake.flush_webhooks()
    assert receiver.ids == [event["id"] for event in stripe_fake.events]
    assert receiver.types == [
        "customer.subscription.created",
        "invoice_payment.paid",
        "invoice.paid",
        "invoice.payment_succeeded",
        "checkout.session.completed",
    ]


async def test_drop_next_webhook_drops_exactly_one(
    stripe_fake: FakeStripe, client: stripe.StripeClient, receiver: Receiver
) -> None:
    first, second = await create(client, donation()), await create(client, donation())
    assert stripe_fake.drop_next_webhook() == 1
    assert stripe_fake.webhooks_to_drop == 1
    await pay_on_page(first["url"])
    await pay_on_page(second["url"])
    log = await stripe_fake.flush_webhooks()

    dropped, delivered = stripe_fake.events[0]["id"], stripe_fake.events[1]["id"]
    assert [(attempt.event_id, attempt.outcome) for attempt in log] == [
        (dropped, "dropped"),
        (delivered, "delivered"),
    ]
    assert (log[0].status, log[0].error, log[0].finished) == (None, None, True)
    assert receiver.ids == [delivered]
    assert stripe_fake.webhooks_to_drop == 0
    # Reconciliation still finds the lost event.
    listed = await client.v1.events.list_async({"type": "checkout.session.completed"})
    assert {event.id for event in listed.data} == {dropped, delivered}


async def test_resend_last_webhook_sends_the_same_event_again(
    stripe_fake: FakeStripe, client: stripe.StripeClient, receiver: Receiver
) -> None:
    session = await create(client, donation())
    await pay_on_page(session["url"])
    await stripe_fake.flush_webhooks()
    resent = stripe_fake.resend_last_webhook()
    log = await stripe_fake.flush_webhooks()

    (event,) = stripe_fake.events
    assert resent == event
    assert receiver.ids == [event["id"], event["id"]]
    assert [(attempt.resend, attempt.outcome) for attempt in log] == [
        (False, "delivered"),
        (True, "delivered"),
    ]
    assert "(resent)" in log[-1].describe()


async def test_refund_last_payment_refunds_the_latest_payment_in_full(
    stripe_fake: FakeStripe, client: stripe.StripeClient, receiver: Receiver
) -> None:
    first, second = await create(client, donation(1000)), await create(client, donation(2500))
    await pay_on_page(first["url"])
    await pay_on_page(second["url"])
    refunded = stripe_fake.refund_last_payment()
    await stripe_fake.flush_webhooks()

    intent = stripe_fake.payment_intents[stripe_fake.sessions[second["id"]]["payment_intent"]]
    charge = refunded["data"]["object"]
    assert refunded["type"] == "charge.refunded"
    assert (charge["id"], charge["amount_refunded"], charge["refunded"]) == (
        intent["latest_charge"],
        2500,
        True,
    )
    assert receiver.types[-1] == "charge.refunded"
    assert receiver.ids[-1] == refunded["id"]
    assert len(stripe_fake.refunds) == 1
    with pytest.raises(ValueError, match="already fully refunded"):
        stripe_fake.refund_last_payment()


async def test_controls_refuse_when_there_is_nothing_to_act_on(
    stripe_fake: FakeStripe, client: stripe.StripeClient
) -> None:
    with pytest.raises(ValueError, match="no webhook endpoint"):
        stripe_fake.drop_next_webhook()
    with pytest.raises(ValueError, match="no webhook endpoint"):
        stripe_fake.resend_last_webhook()
    with pytest.raises(ValueError, match="nothing to refund"):
        stripe_fake.refund_last_payment()

    stripe_fake.webhook_url = "http://127.0.0.1:9/unused"
    with pytest.raises(ValueError, match="nothing to resend"):
        stripe_fake.resend_last_webhook()
    unpaid = await create(client, donation())
    stripe_fake.pay_async(unpaid["id"])  # completed, but not paid yet
    with pytest.raises(ValueError, match="nothing to refund"):
        stripe_fake.refund_last_payment()
    assert stripe_fake.webhook_log == []


async def test_failed_deliveries_are_warnings_and_are_recorded(
    stripe_fake: FakeStripe,
    client: stripe.StripeClient,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver.status = 500
    await pay_on_page((await create(client, donation()))["url"])
    with socket.socket() as closed:  # bound, never listening: the connection is refused
        closed.bind(("127.0.0.1", 0))
        stripe_fake.webhook_url = f"http://127.0.0.1:{closed.getsockname()[1]}/webhook"
        stripe_fake.resend_last_webhook()
        log = await stripe_fake.flush_webhooks()

    assert [(attempt.outcome, attempt.status) for attempt in log] == [
        ("failed", 500),
        ("failed", None),
    ]
    assert (log[1].error or "").startswith("ConnectError")
    warnings = [r for r in caplog.records if r.name == "playground.stripe.webhooks"]
    assert [r.levelno for r in warnings] == [logging.WARNING, logging.WARNING]


async def test_stop_cancels_deliveries_still_in_flight() -> None:
    hold = asyncio.Event()
    async with webhook_receiver(hold) as slow:
        fake = FakeStripe(api_key=API_KEY, webhook_secret=SECRET, seed=3)
        await fake.start()
        fake.webhook_url = slow.url
        fake.webhook_stop_grace = 0.05
        session = fake.create_session(donation())
        assert (await pay_on_page(session["url"])).is_redirect
        await fake.stop()
        assert slow.events == []
    (attempt,) = fake.webhook_log
    assert (attempt.outcome, attempt.error) == ("failed", "cancelled: FakeStripe stopped")
