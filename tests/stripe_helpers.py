"""What the fake Stripe tests (test_fake_stripe_*.py) share.

The fixtures, a real SDK client pointed at the fake, Checkout parameters like the bot's,
the check that objects carry only fields the SDK knows, and a webhook receiver.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from playground.local_server import LocalServer
from playground.stripe import FakeStripe

API_KEY = "sk_test_fake"
SECRET = "whsec_test_secret"
DAY = 24 * 60 * 60


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


async def pay_on_page(url: str, card: str = TEST_CARD) -> httpx.Response:
    async with httpx.AsyncClient() as browser:
        return await browser.post(url, data={"action": "pay", "card_number": card})
