"""Creating Checkout Sessions on the fake Stripe (playground/stripe/) with the real SDK.

What a created session holds, every refusal Stripe would give, and idempotent replays.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import stripe
from stripe._encode import _api_encode

from playground.stripe import API_VERSION, FakeStripe, FakeStripeError, StripeAccount
from tests.stripe_helpers import API_KEY, DAY, create, donation, price_data

# fixtures: pytest looks them up by name; `as` tells ruff these imports are meant
from tests.stripe_helpers import client as client
from tests.stripe_helpers import stripe_fake as stripe_fake

# stripe 16's HTTPXClient passes the form body as `data=bytes`, which httpx 0.28 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


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
