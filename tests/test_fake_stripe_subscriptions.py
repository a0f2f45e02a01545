"""The fake Stripe API (playground/stripe/), driven by the real stripe SDK over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import logging
import re
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
import stripe
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from stripe._encode import _api_encode

from playground.local_server import LocalServer
from playground.stripe import (
    API_VERSION,
    FakeStripe,
    FakeStripeError,
    StripeAccount,
    decode_form,
    listify,
)

API_KEY = "sk_test_fake"
SECRET = "whsec_test_secret"
DAY = 24 * 60 * 60

# stripe 16's HTTPXClient passes the form body as `data=bytes`, which httpx 0.28 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


@pytest.fixture
async def stripe_fake() -> AsyncIterator[FakeStripe]:
    async with FakeStripe(api_key=API_KEY, webhook_secret=SECRET, seed=7) as fake:
        yield fake


@contextlib.asynccontextmanager
async def sdk(
    fake: FakeStripe, *, api_key: str = API_KEY, retries: int = 0, request_timeout: float = 10.0
) -> AsyncIterator[stripe.StripeClient]:
    """A real StripeClient bound to this test's loop, pointed at the fake."""
    http_client = stripe.HTTPXClient(timeout=request_timeout)
    try:
        yield stripe.StripeClient(
            api_key,
            base_addresses={"api": fake.base_url},
            http_client=http_client,
            max_network_retries=retries,
        )
    finally:
        await http_client.close_async()


@pytest.fixture
async def client(stripe_fake: FakeStripe) -> AsyncIterator[stripe.StripeClient]:
    async with sdk(stripe_fake) as stripe_client:
        yield stripe_client


def donation(amount: int = 2500, currency: str = "eur", **overrides: Any) -> dict[str, Any]:
    """Parameters like the bot's: one donation line item, hosted page, our own expiry."""
    params: dict[str, Any] = {
        "mode": "payment",
        "submit_type": "donate",
        "line_items": [
            {
                "price_data": {
                    "currency": currency,
                    "unit_amount": amount,
                    "product_data": {"name": "Donation"},
                },
                "quantity": 1,
            }
        ],
        "locale": "ru",
        "success_url": "https://t.me/AppealBot?start=paid",
        "cancel_url": "https://t.me/AppealBot?start=donate",
        "client_reference_id": "intent-abc",
        "metadata": {"intent": "intent-abc"},
        "adaptive_pricing": {"enabled": False},
        "expires_at": int(time.time()) + 3600,
    }
    params.update(overrides)
    return params


def price_data(params: dict[str, Any]) -> dict[str, Any]:
    return params["line_items"][0]["price_data"]


async def create(client: stripe.StripeClient, params: dict[str, Any], **options: Any) -> Any:
    return await client.v1.checkout.sessions.create_async(params, options=options or None)


# =============================================================================================
# Creating sessions
# =============================================================================================


async def test_create_session_answers_a_checkout_session(
    stripe_fake: FakeStripe, client: stripe.StripeClient
) -> None:
    params = donation()
    session = await create(client, params, idempotency_key="appeal-bot-intent-abc")

    assert session["object"] == "checkout.session"
    assert session["id"].startswith("cs_test_")
    assert session["url"] == f"{stripe_fake.base_url}/pay/{session['id']}"
    assert (session["amount_subtotal"], session["amount_total"]) == (2500, 2500)
    assert session["currency"] == "eur"
    assert (session["status"], session["payment_status"]) == ("open", "unpaid")
    assert session["payment_intent"] is None
    assert session["subscription"] is None
    assert (session["mode"], session["submit_type"], session["locale"]) == (
        "payment",
        "donate",
        "ru",
    )
    assert session["client_reference_id"] == "intent-abc"
    assert session["metadata"].to_dict() == {"intent": "intent-abc"}
    assert session["adaptive_pricing"]["enabled"] is False
    assert session["expires_at"] == params["expires_at"]
    assert session["success_url"] == params["success_url"]
    assert session["cancel_url"] == params["cancel_url"]
    assert session["livemode"] is False
    assert abs(session["created"] - time.time()) < 5

    assert stripe_fake.sessions_created == 1
    (request,) = stripe_fake.requests_to("POST", "/v1/checkout/sessions")
    assert request.idempotency_key == "appeal-bot-intent-abc"
    assert request.headers["stripe-version"] == API_VERSION
    assert request.params["line_items"][0]["price_data"]["currency"] == "eur"
    assert request.params["adaptive_pricing"] == {"enabled": "false"}
    assert "metadata[intent]=intent-abc" in request.body
    assert stripe_fake.violations == []


async def test_default_expiry_is_24_hours(
    stripe_fake: FakeStripe, client: stripe.StripeClient
) -> None:
    stripe_fake.now = 1_800_000_000
    params = donation()
    del params["expires_at"]
    session = await create(client, params)
    assert session["expires_at"] == 1_800_000_000 + DAY
    assert session["created"] == 1_800_000_000


async def test_line_items_endpoint_and_expansion(
    stripe_fake: FakeStripe, client: stripe.StripeClient
) -> None:
    params = donation(amount=700, currency="usd")
    params["line_items"][0]["quantity"] = 3
    session = await create(client, params, idempotency_key="k")
    assert session["amount_total"] == 2100
    items = await client.v1.checkout.sessions.line_items.list_async(session["id"])
    (item,) = items.data
    assert (item["quantity"], item["amount_total"], item["description"]) == (3, 2100, "Donation")
    assert item["price"]["unit_amount"] == 700
    expanded = await client.v1.checkout.sessions.retrieve_async(
        session["id"], {"expand": ["line_items"]}
    )
    assert expanded["line_items"]["data"][0]["id"] == item["id"]


@pytest.mark.parametrize(
    ("change", "param", "detail"),
    [
        pytest.param(lambda p: p.update(foo="x"), "foo", None, id="top-level"),
        pytest.param(
            lambda p: price_data(p).update(colour="red"),
            "line_items[0][price_data][colour]",
            None,
            id="nested",
        ),
        pytest.param(
            lambda p: p.update(adaptive_pricing={"enabled": False, "bar": "1"}),
            "adaptive_pricing[bar]",
            None,
            id="in-hash",
        ),
        pytest.param(
            lambda p: p.update(sucess_url="https://example.org"),
            "sucess_url",
            "Did you mean success_url?",
            id="typo",
        ),
        pytest.param(
            lambda p: p.update(payment_method_types=["card"]),
            "payment_method_types",
            "allowed_payment_method_types",
            id="renamed-in-api-version",
        ),
        pytest.param(
            lambda p: p.update(phone_number_collection={"enabled": True}),
            "phone_number_collection",
            "FakeStripe does not implement",
            id="real-but-not-modelled",
        ),
    ],
)
async def test_unknown_parameter_is_refused(
    stripe_fake: FakeStripe,
    client: stripe.StripeClient,
    change: Callable[[dict[str, Any]], None],
    param: str,
    detail: str | None,
) -> None:
    params = donation()
    change(params)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await create(client, params)
    error = caught.value
    assert (error.http_status, error.code, error.param) == (400, "parameter_unknown", param)
    assert error.user_message.startswith(
        (f"Received unknown parameter: {param}", f"FakeStripe does not implement parameter {param}")
    )
    if detail:
        assert detail in error.user_message
    assert stripe_fake.sessions_created == 0
    assert [request.status for request in stripe_fake.violations] == [400]


def _without(name: str) -> Callable[[dict[str, Any]], None]:
    return lambda params: params.pop(name)


def _metadata(**values: str) -> Callable[[dict[str, Any]], None]:
    return lambda params: params.update(metadata=values)


@pytest.mark.parametrize(
    ("change", "param", "code", "message"),
    [
        (_without("mode"), "mode", "parameter_missing", "Missing required param: mode."),
        (_without("line_items"), "line_items", "parameter_missing", None),
        (_without("success_url"), "success_url", "parameter_missing", None),
        (
            lambda p: p.update(mode="donation"),
            "mode",
            None,
            "Invalid mode: must be one of payment, setup, or subscription",
        ),
        (lambda p: p.update(submit_type="give"), "submit_type", None, None),
        (
            lambda p: p.update(mode="setup", currency="eur"),
            "submit_type",
            None,
            "`submit_type` can only be specified",
        ),
        (lambda p: p.update(locale="xx"), "locale", None, None),
        (
            lambda p: price_data(p).update(currency="zzz"),
            "line_items[0][price_data][currency]",
            None,
            "Invalid currency: zzz",
        ),
        (
            lambda p: price_data(p).update(unit_amount=-1),
            "line_items[0][price_data][unit_amount]",
            "parameter_invalid_integer",
            None,
        ),
        (
            lambda p: price_data(p).update(unit_amount=100_000_000),
            "line_items[0][price_data][unit_amount]",
            "parameter_invalid_integer",
            "less than or equal to 99999999",
        ),
        (
            lambda p: price_data(p).update(unit_amount="12.50"),
            "line_items[0][price_data][unit_amount]",
            "parameter_invalid_integer",
            "Invalid integer: 12.50",
        ),
        (
            lambda p: p["line_items"][0].update(quantity=0),
            "line_items[0][quantity]",
            "parameter_invalid_integer",
            None,
        ),
        (
            lambda p: p["line_items"][0].pop("quantity"),
            "line_items[0][quantity]",
            "parameter_missing",
            None,
        ),
        (
            lambda p: p["line_items"][0].update(price="price_123"),
            "line_items[0][price]",
            "parameters_exclusive",
            None,
        ),
        (
            lambda p: price_data(p).update(product_data={"name": ""}),
            "line_items[0][price_data][product_data][name]",
            "parameter_invalid_empty",
            None,
        ),
        (
            lambda p: price_data(p).update(recurring={"interval": "month"}),
            "line_items[0][price_data][recurring]",
            None,
            "You specified `payment` mode but passed a recurring price",
        ),
        (
            lambda p: p.update(client_reference_id="x" * 201),
            "client_reference_id",
            None,
            "must be at most 200 characters",
        ),
        (_metadata(**{f"k{i}": "v" for i in range(51)}), "metadata", None, "50 keys"),
        (_metadata(**{"k" * 41: "v"}), f"metadata[{'k' * 41}]", None, "40 characters"),
        (_metadata(note="v" * 501), "metadata[note]", None, "500 characters"),
        (
            lambda p: p.update(expires_at=int(time.time()) + 600),
            "expires_at",
            None,
            "at least 30 minutes",
        ),
        (
            lambda p: p.update(expires_at=int(time.time()) + DAY + 3600),
            "expires_at",
            None,
            "less than 24 hours",
        ),
        (lambda p: p.update(success_url="t.me/bot"), "success_url", "url_invalid", None),
        (lambda p: p.update(customer_email="nope"), "customer_email", "email_invalid", None),
        (
            lambda p: p.update(adaptive_pricing={"enabled": "maybe"}),
            "adaptive_pricing[enabled]",
            None,
            "Invalid boolean: maybe",
        ),
        (
            lambda p: p.update(subscription_data={"metadata": {"a": "b"}}),
            "subscription_data",
            None,
            "`subscription` mode",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
async def test_invalid_values_are_refused_like_stripe(
    stripe_fake: FakeStripe,
    client: stripe.StripeClient,
    change: Callable[[dict[str, Any]], None],
    param: str,
    code: str | None,
    message: str | None,
) -> None:
    params = donation()
    change(params)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await create(client, params)
    error = caught.value
    assert (error.http_status, error.param, error.code) == (400, param, code)
    if message:
        assert message in error.user_message
    body = stripe_fake.violations[-1].response
    assert body["error"]["type"] == "invalid_request_error"
    assert stripe_fake.sessions_created == 0


@pytest.mark.parametrize(
    ("currency", "amount", "shown"),
    [("usd", 49, "$0.50 usd"), ("eur", 49, "€0.50 eur"), ("gbp", 29, "£0.30 gbp")],
)
async def test_amount_below_the_currency_minimum(
    client: stripe.StripeClient, currency: str, amount: int, shown: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await create(client, donation(amount, currency))
    assert caught.value.code == "amount_too_small"
    assert caught.value.user_message == (
        f"The Checkout Session's total amount due must add up to at least {shown}"
    )


async def test_amounts_at_the_minimum_and_over_quantities_are_accepted(
    stripe_fake: FakeStripe, client: stripe.StripeClient
) -> None:
    await create(client, donation(30, "gbp"))
    params = donation(25, "usd")
    params["line_items"][0]["quantity"] = 2
    session = await create(client, params)
    assert session["amount_total"] == 50
    assert stripe_fake.violations == []


def test_sessions_can_be_created_without_http() -> None:
    account = StripeAccount(seed=1)
    session = account.create_session(donation())
    assert account.sessions[session["id"]]["amount_total"] == 2500
    with pytest.raises(FakeStripeError) as caught:
        account.create_session(donation(mode="gift"))
    assert caught.value.param == "mode"


# =============================================================================================
# Idempotency
# =============================================================================================


async def test_idempotent_replay_and_conflicting_reuse(
    stripe_fake: FakeStripe, client: stripe.StripeClient
) -> None:
    params = donation()
    first = await create(client, params, idempotency_key="appeal-bot-1")
    again = await create(client, params, idempotency_key="appeal-bot-1")
    assert again["id"] == first["id"]
    assert stripe_fake.sessions_created == 1
    assert [request.replayed for request in stripe_fake.requests] == [False, True]

    with pytest.raises(stripe.IdempotencyError) as caught:
        await create(client, donation(amount=5000), idempotency_key="appeal-bot-1")
    assert "same parameters they were first used with" in caught.value.user_message
    assert stripe_fake.sessions_created == 1
    assert len(stripe_fake.violations) == 1


async def test_replayed_answer_carries_the_replay_headers(stripe_fake: FakeStripe) -> None:
    body = urlencode(list(_api_encode(donation())))
    headers = {
        "Authorization": f"Bearer {API_KEY}",
        "Content-Type": "application/x-www-form-urlencoded",
        "Idempotency-Key": "raw-key",
    }
    async with httpx.AsyncClient(base_url=stripe_fake.base_url) as http:
        first = await http.post("/v1/checkout/sessions", content=body, headers=headers)
        second = await http.post("/v1/checkout/sessions", content=body, headers=headers)
    assert first.status_code == second.status_code == 200
    assert "idempotent-replayed" not in first.headers
    assert second.headers["idempotent-replayed"] == "true"
    assert second.headers["original-request"] == first.headers["request-id"]
    assert second.headers["request-id"] != first.headers["request-id"]
    assert second.json() == first.json()


# =============================================================================================
# Payments, retrieval and expansion
# =============================================================================================


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


def _sdk_fields(resource: type) -> set[str]:
    return {name for name in resource.__annotations__ if not name.startswith("_")}


#: The SDK resource of the items in each list-valued field.
_LISTED_RESOURCES: dict[str, type] = {
    "items": stripe.SubscriptionItem,
    "lines": stripe.InvoiceLineItem,
    "payments": stripe.InvoicePayment,
}


def _assert_sdk_shape(obj: dict[str, Any], resource: type, where: str = "") -> None:
    """Every field of ``obj``, nested hashes and listed items included, is one the SDK knows."""
    where = where or resource.__name__
    unknown = set(obj) - _sdk_fields(resource)
    assert not unknown, f"{where}: {sorted(unknown)}"
    inner: dict[str, type] = getattr(resource, "_inner_class_types", {})
    for key, value in obj.items():
        if isinstance(value, dict) and value.get("object") == "list":
            for item in value["data"]:
                _assert_sdk_shape(item, _LISTED_RESOURCES[key], f"{where}.{key}")
        elif key in inner:
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict):
                    _assert_sdk_shape(item, inner[key], f"{where}.{key}")


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


# =============================================================================================
# Monthly giving: subscription-mode Checkout, invoices, renewals, cancellation
# =============================================================================================

#: 2027-01-31 12:00 UTC: monthly periods clamp to Feb 28, then return to the 31st.
JAN_31 = int(datetime(2027, 1, 31, 12, tzinfo=UTC).timestamp())
#: Fields API 2025-03-31.basil removed from invoices.
REMOVED_INVOICE_FIELDS = {"subscription", "payment_intent", "charge", "paid", "paid_out_of_band"}


def monthly(amount: int = 1000, currency: str = "eur", **overrides: Any) -> dict[str, Any]:
    """Parameters for monthly giving: one recurring monthly price, subscription metadata."""
    params = donation(
        amount,
        currency,
        mode="subscription",
        subscription_data={"metadata": {"intent": "monthly-1", "chat": "42"}},
    )
    del params["submit_type"], params["adaptive_pricing"]
    price_data(params)["recurring"] = {"interval": "month"}
    params.update(overrides)
    return params


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


# =============================================================================================
# Events
# =============================================================================================


async def test_events_list_filters_and_pages(
    stripe_fake: FakeStripe, client: stripe.StripeClient
) -> None:
    start = stripe_fake.now = int(time.time())
    paid = await create(client, donation())
    abandoned = await create(client, donation())
    stripe_fake.advance(10)
    completed = stripe_fake.pay(paid["id"])
    stripe_fake.advance(10)
    expired = stripe_fake.expire(abandoned["id"])
    stripe_fake.advance(10)
    charge_id = next(iter(stripe_fake.charges))
    refunded = stripe_fake.refund(charge_id, 500)
    stripe_fake.advance(10)
    disputed = stripe_fake.dispute(charge_id)
    ids = {
        e["id"]: name
        for e, name in [(completed, "c"), (expired, "x"), (refunded, "r"), (disputed, "d")]
    }

    async def listed(**params: Any) -> tuple[str, bool]:
        page = await client.v1.events.list_async(params)
        assert page["url"] == "/v1/events"
        return "".join(ids[event.id] for event in page.data), page.has_more

    assert await listed() == ("drxc", False)
    assert await listed(types=["checkout.session.completed", "checkout.session.expired"]) == (
        "xc",
        False,
    )
    assert await listed(type="charge.*") == ("dr", False)
    assert await listed(type="charge.dispute.*") == ("d", False)
    assert await listed(type="checkout.session.expired") == ("x", False)
    assert await listed(created={"gte": start + 20}) == ("drx", False)
    assert await listed(created={"gt": start + 20, "lte": start + 30}) == ("r", False)
    assert await listed(created=start + 10) == ("c", False)
    assert await listed(limit=2) == ("dr", True)
    assert await listed(limit=2, starting_after=refunded["id"]) == ("xc", False)
    assert await listed(limit=1, ending_before=expired["id"]) == ("r", True)

    # The bot's reconciliation loop: pages of `types` since a checkpoint, then oldest first.
    params: dict[str, Any] = {"created": {"gte": start}, "types": ["charge.refunded"], "limit": 1}
    seen = []
    while True:
        page = await client.v1.events.list_async(params)
        seen.extend(event.to_dict() for event in page.data)
        if not page.has_more:
            break
        params["starting_after"] = page.data[-1].id
    assert [event["id"] for event in seen] == [refunded["id"]]
    assert seen[0]["data"]["object"]["amount_refunded"] == 500

    event = await client.v1.events.retrieve_async(completed["id"])
    assert event["api_version"] == API_VERSION
    assert event["data"]["object"]["id"] == paid["id"]
    assert event["request"]["id"] is None
    assert stripe_fake.violations == []

    stripe_fake.advance(31 * DAY)
    assert await listed() == ("", False)
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.events.retrieve_async(completed["id"])


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"type": "charge.refunded", "types": ["charge.refunded"]}, "type"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"starting_after": "evt_unknown"}, "starting_after"),
        ({"created": {"since": 5}}, "created[since]"),
        ({"types": [f"type.{i}" for i in range(21)]}, "types"),
    ],
)
async def test_events_list_refuses_bad_parameters(
    stripe_fake: FakeStripe, client: stripe.StripeClient, params: dict[str, Any], param: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await client.v1.events.list_async(params)
    assert caught.value.param == param
    assert len(stripe_fake.violations) == 1


async def test_list_sessions(stripe_fake: FakeStripe, client: stripe.StripeClient) -> None:
    first = await create(client, donation())
    second = await create(client, donation())
    stripe_fake.pay(first["id"])
    everything = await client.v1.checkout.sessions.list_async()
    assert {session.id for session in everything.data} == {first["id"], second["id"]}
    still_open = await client.v1.checkout.sessions.list_async(
        {"status": "open", "expand": ["data.payment_intent"]}
    )
    assert [session.id for session in still_open.data] == [second["id"]]
    complete = await client.v1.checkout.sessions.list_async(
        {"status": "complete", "expand": ["data.payment_intent"]}
    )
    assert complete.data[0]["payment_intent"]["status"] == "succeeded"


# =============================================================================================
# Webhooks
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
# Faults, auth and raw error shapes
# =============================================================================================


async def test_injected_server_error_is_retried_by_the_sdk(stripe_fake: FakeStripe) -> None:
    stripe_fake.fail_next("POST", "/v1/checkout/sessions", status=500)
    async with sdk(stripe_fake, retries=2) as client:
        session = await create(client, donation())
    attempts = stripe_fake.requests_to("POST", "/v1/checkout/sessions")
    assert [attempt.status for attempt in attempts] == [500, 200]
    assert attempts[0].idempotency_key == attempts[1].idempotency_key  # the SDK's own key
    assert attempts[0].error == {
        "type": "api_error",
        "message": "An unknown error occurred (injected by FakeStripe).",
    }
    assert stripe_fake.sessions[session["id"]]["status"] == "open"
    assert stripe_fake.sessions_created == 1
    assert stripe_fake.violations == []


@pytest.mark.parametrize(
    ("status", "error_class", "code"),
    [
        (500, stripe.APIError, None),
        (429, stripe.RateLimitError, "rate_limit"),
        (402, stripe.CardError, "card_declined"),
    ],
)
async def test_injected_errors_reach_the_client(
    stripe_fake: FakeStripe, status: int, error_class: type[Exception], code: str | None
) -> None:
    stripe_fake.fail_next("*", "/v1/checkout", status=status)
    async with sdk(stripe_fake) as client:
        with pytest.raises(error_class) as caught:
            await create(client, donation())
        assert caught.value.http_status == status  # type: ignore[attr-defined]
        assert caught.value.json_body["error"].get("code") == code  # type: ignore[attr-defined]
        assert caught.value.request_id.startswith("req_")  # type: ignore[attr-defined]
        await create(client, donation())  # the fault was used up
    assert stripe_fake.violations == []


async def test_should_retry_false_stops_the_sdk(stripe_fake: FakeStripe) -> None:
    stripe_fake.fail_next("POST", "/v1/checkout/sessions", 503, should_retry=False, count=3)
    async with sdk(stripe_fake, retries=2) as client:
        with pytest.raises(stripe.APIError):
            await create(client, donation())
    assert len(stripe_fake.requests) == 1


async def test_latency_makes_the_client_time_out(stripe_fake: FakeStripe) -> None:
    stripe_fake.set_latency(0.5)
    async with sdk(stripe_fake, request_timeout=0.05) as client:
        with pytest.raises(stripe.APIConnectionError):
            await client.v1.events.list_async()
    stripe_fake.set_latency(0)


async def test_wrong_api_key_is_refused(stripe_fake: FakeStripe) -> None:
    async with sdk(stripe_fake, api_key="sk_test_wrong_key_1234") as client:
        with pytest.raises(stripe.AuthenticationError) as caught:
            await create(client, donation())
    assert caught.value.http_status == 401
    assert caught.value.user_message == "Invalid API Key provided: sk_test_**********1234"
    assert "wrong_key" not in json.dumps(stripe_fake.violations[0].response)
    assert stripe_fake.sessions_created == 0


async def test_raw_error_shapes_and_headers(stripe_fake: FakeStripe) -> None:
    auth = {"Authorization": f"Bearer {API_KEY}"}
    async with httpx.AsyncClient(base_url=stripe_fake.base_url) as http:
        unknown = await http.get("/v1/foo", headers=auth)
        missing_key = await http.get("/v1/events")
        as_json = await http.post("/v1/checkout/sessions", json={"mode": "payment"}, headers=auth)
        listed = await http.get(
            "/v1/events", params={"created[gte]": "0", "types[]": "x.y", "limit": "3"}, headers=auth
        )
    assert unknown.status_code == 404
    assert unknown.json()["error"]["type"] == "invalid_request_error"
    assert unknown.json()["error"]["message"].startswith("Unrecognized request URL (GET: /v1/foo)")
    assert missing_key.status_code == 401
    assert missing_key.json()["error"]["message"].startswith("You did not provide an API key")
    assert as_json.status_code == 400
    assert "unsupported Content-Type application/json" in as_json.json()["error"]["message"]
    assert listed.status_code == 200
    assert listed.json() == {"object": "list", "data": [], "has_more": False, "url": "/v1/events"}
    for response in (unknown, missing_key, as_json, listed):
        assert response.headers["request-id"].startswith("req_")
    assert [request.status for request in stripe_fake.violations] == [404, 401, 400]


async def test_hosted_checkout_page_pays_and_redirects(
    stripe_fake: FakeStripe, client: stripe.StripeClient
) -> None:
    params = donation(success_url="https://example.org/thanks?session={CHECKOUT_SESSION_ID}")
    session = await create(client, params)
    async with httpx.AsyncClient() as browser:
        page = await browser.get(session["url"])
        paid = await browser.post(session["url"], data={"action": "pay"})
    assert page.status_code == 200
    assert "€25.00 eur" in page.text
    assert paid.status_code == 303
    assert paid.headers["location"] == f"https://example.org/thanks?session={session['id']}"
    assert stripe_fake.sessions[session["id"]]["payment_status"] == "paid"
    assert [event["type"] for event in stripe_fake.events] == ["checkout.session.completed"]
    assert (stripe_fake.deliveries, stripe_fake.webhook_log) == ([], [])  # no webhook_url


# =============================================================================================
# The hosted checkout page and automatic webhooks
# =============================================================================================

HOSTILE = '<script>alert("x")</script> & Co'
TEST_CARD = "4242 4242 4242 4242"


@dataclass
class Receiver:
    """A webhook endpoint on 127.0.0.1 that verifies signatures as the bot does."""

    url: str
    events: list[stripe.Event] = field(default_factory=list)
    rejected: int = 0
    status: int = 200

    @property
    def ids(self) -> list[str]:
        return [event.id for event in self.events]

    @property
    def types(self) -> list[str]:
        return [event.type for event in self.events]


@contextlib.asynccontextmanager
async def webhook_receiver(hold: asyncio.Event | None = None) -> AsyncIterator[Receiver]:
    """Serve a :class:`Receiver`; with ``hold``, each request waits until it is set."""
    receiver: Receiver

    async def webhook(request: Request) -> Response:
        body = await request.body()
        if hold is not None:
            await hold.wait()
        try:
            event = stripe.Webhook.construct_event(
                body, request.headers.get("stripe-signature", ""), SECRET
            )
        except (ValueError, stripe.SignatureVerificationError):
            receiver.rejected += 1
            return Response(status_code=400)
        receiver.events.append(event)
        return Response(status_code=receiver.status)

    server = LocalServer(Starlette(routes=[Route("/webhook", webhook, methods=["POST"])]))
    await server.start()
    receiver = Receiver(f"http://127.0.0.1:{server.port}/webhook")
    try:
        yield receiver
    finally:
        if hold is not None:
            hold.set()
        await server.stop()


@pytest.fixture
async def receiver(stripe_fake: FakeStripe) -> AsyncIterator[Receiver]:
    async with webhook_receiver() as running:
        stripe_fake.webhook_url = running.url
        yield running
        await stripe_fake.flush_webhooks()


def page_error(page: str) -> str | None:
    """The text of ``#checkout-error``, or None while it is hidden."""
    match = re.search(r'<p id="checkout-error"([^>]*)>(.*?)</p>', page)
    assert match is not None, "no #checkout-error element"
    return None if " hidden" in match.group(1) else match.group(2)


async def pay_on_page(url: str, card: str = TEST_CARD) -> httpx.Response:
    async with httpx.AsyncClient() as browser:
        return await browser.post(url, data={"action": "pay", "card_number": card})


async def test_checkout_page_shows_the_amount_and_escapes_what_it_shows(
    stripe_fake: FakeStripe, client: stripe.StripeClient
) -> None:
    params = donation(4250)
    price_data(params)["product_data"] = {"name": HOSTILE, "description": "<img src=x onerror=1>"}
    session = await create(client, params)
    async with httpx.AsyncClient() as browser:
        page = await browser.get(session["url"])
        cancelled = await browser.post(session["url"], data={"action": "cancel"})
        missing = await browser.get(f"{stripe_fake.base_url}/pay/cs_test_nope")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    text = page.text
    assert '<html lang="en">' in text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text
    assert "Simulated Stripe checkout — no real money" in text
    assert '<span id="checkout-amount">€42.50 eur</span>' in text
    assert "<script>" not in text
    assert "<img" not in text
    assert html.escape(HOSTILE) in text
    assert "&lt;img src=x onerror=1&gt;" in text
    assert '<label for="card-number">Card number</label>' in text
    assert re.search(r'<input id="card-number"[^>]* value="4242 4242 4242 4242"', text)
    assert re.search(r'<button type="submit" id="pay"[^>]*>Pay</button>', text)
    assert re.search(r'<button type="submit" id="cancel"[^>]*>Cancel</button>', text)
    assert ":focus-visible" in text
    assert page_error(text) is None

    assert cancelled.status_code == 303
    assert cancelled.headers["location"] == params["cancel_url"]
    assert stripe_fake.sessions[session["id"]]["status"] == "open"
    assert missing.status_code == 404
    assert "Checkout session not found" in missing.text


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
    session = await create(client, monthly())
    async with httpx.AsyncClient() as browser:
        page = await browser.get(session["url"])
    assert "€10.00 eur</span> per month" in page.text
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


@pytest.mark.parametrize(
    ("card", "message"),
    [
        ("4000 0000 0000 0002", "Your card was declined."),
        ("4000000000000002", "Your card was declined."),
        ("4242 4242 4242", "Your card number is invalid."),
        ("", "Your card number is invalid."),
        ("4242-4242-4242-4242", "Your card number is invalid."),
        ("4242 4242 4242 4241", "Your card number is invalid."),  # fails the Luhn check
        ('"><script>alert(1)</script>', "Your card number is invalid."),
    ],
)
async def test_declined_and_invalid_cards_leave_the_session_open(
    stripe_fake: FakeStripe,
    client: stripe.StripeClient,
    receiver: Receiver,
    card: str,
    message: str,
) -> None:
    session = await create(client, donation())
    answer = await pay_on_page(session["url"], card)

    assert answer.status_code == 200
    assert page_error(answer.text) == message
    assert "<script>" not in answer.text
    assert f'value="{html.escape(card)}"' in answer.text  # what was typed stays, escaped
    assert 'aria-invalid="true"' in answer.text
    assert stripe_fake.sessions[session["id"]]["status"] == "open"
    assert stripe_fake.events == []
    assert await stripe_fake.flush_webhooks() == []
    assert (await pay_on_page(session["url"])).status_code == 303  # it can still be paid


async def test_a_closed_session_shows_why_instead_of_the_form(
    stripe_fake: FakeStripe, client: stripe.StripeClient
) -> None:
    paid = await create(client, donation())
    expired = await create(client, donation())
    stripe_fake.pay(paid["id"])
    stripe_fake.expire(expired["id"])
    again = await pay_on_page(paid["url"])
    async with httpx.AsyncClient() as browser:
        gone = await browser.get(expired["url"])
    assert page_error(again.text) == "This checkout session is already complete."
    assert "has expired" in (page_error(gone.text) or "")
    assert 'id="pay"' not in again.text + gone.text
    assert len(stripe_fake.events) == 2


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


# =============================================================================================
# Form decoding
# =============================================================================================

_KEYS = st.from_regex(r"[a-z_]{1,8}", fullmatch=True)
_SCALARS = st.text(st.characters(exclude_categories=("Cs",)), max_size=8) | st.integers(
    -5, 10**9
).map(str)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, min_size=1, max_size=3)
        | st.dictionaries(_KEYS, inner, min_size=1, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(_KEYS, _VALUES, min_size=1, max_size=4))
def test_decode_form_inverts_the_sdk_encoding(params: dict[str, Any]) -> None:
    encoded = urlencode(list(_api_encode(params)))
    assert listify(decode_form(parse_qsl(encoded, keep_blank_values=True))) == params


def test_decode_form_takes_empty_brackets_and_refuses_clashes() -> None:
    pairs = [("expand[]", "a"), ("expand[]", "b"), ("metadata[0]", "zero")]
    assert decode_form(pairs) == {"expand": {"0": "a", "1": "b"}, "metadata": {"0": "zero"}}
    with pytest.raises(FakeStripeError):
        decode_form([("metadata", "x"), ("metadata[a]", "y")])
