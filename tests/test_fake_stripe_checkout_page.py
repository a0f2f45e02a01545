"""The fake Stripe's hosted checkout page, as a browser uses it.

What it shows (escaped), paying and cancelling on it, declined and invalid cards, and
sessions that can no longer be paid.
"""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
import pytest
import stripe

from playground.stripe import FakeStripe
from tests.stripe_helpers import Receiver, create, donation, pay_on_page, price_data

# fixtures: pytest looks them up by name; `as` tells ruff these imports are meant
from tests.stripe_helpers import client as client
from tests.stripe_helpers import receiver as receiver
from tests.stripe_helpers import stripe_fake as stripe_fake

# stripe 16's HTTPXClient passes the form body as `data=bytes`, which httpx 0.28 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


HOSTILE = '<script>alert("x")</script> & Co'


def english(*args: Any, **overrides: Any) -> dict[str, Any]:
    """A donation whose page is in English (the page follows the session's locale)."""
    return donation(*args, **{"locale": "en", **overrides})


def page_error(page: str) -> str | None:
    """The text of ``#checkout-error``, or None while it is hidden."""
    match = re.search(r'<p id="checkout-error"([^>]*)>(.*?)</p>', page)
    assert match is not None, "no #checkout-error element"
    return None if " hidden" in match.group(1) else match.group(2)


async def test_hosted_checkout_page_pays_and_redirects(
    stripe_fake: FakeStripe, client: stripe.StripeClient
) -> None:
    params = english(success_url="https://example.org/thanks?session={CHECKOUT_SESSION_ID}")
    session = await create(client, params)
    async with httpx.AsyncClient() as browser:
        page = await browser.get(session["url"])
        paid = await browser.post(session["url"], data={"action": "pay"})
    assert page.status_code == 200
    assert '<span id="checkout-amount">€25.00</span>' in page.text  # the amount once
    assert paid.status_code == 303
    assert paid.headers["location"] == f"https://example.org/thanks?session={session['id']}"
    assert stripe_fake.sessions[session["id"]]["payment_status"] == "paid"
    assert [event["type"] for event in stripe_fake.events] == ["checkout.session.completed"]
    assert (stripe_fake.deliveries, stripe_fake.webhook_log) == ([], [])  # no webhook_url


async def test_checkout_page_shows_the_amount_and_escapes_what_it_shows(
    stripe_fake: FakeStripe, client: stripe.StripeClient
) -> None:
    params = english(4250)
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
    assert '<span id="checkout-amount">€42.50</span>' in text
    assert "<script>" not in text
    assert "<img" not in text
    assert html.escape(HOSTILE) in text
    assert "&lt;img src=x onerror=1&gt;" in text
    assert '<label for="card-number">Card number</label>' in text
    assert re.search(r'<input id="card-number"[^>]* value="4242 4242 4242 4242"', text)
    assert re.search(r'<button type="submit" id="pay"[^>]*>Donate</button>', text)
    assert re.search(r'<button type="submit" id="cancel"[^>]*>Cancel</button>', text)
    assert ":focus-visible" in text
    assert page_error(text) is None

    assert cancelled.status_code == 303
    assert cancelled.headers["location"] == params["cancel_url"]
    assert stripe_fake.sessions[session["id"]]["status"] == "open"
    assert missing.status_code == 404
    assert "Checkout session not found" in missing.text


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
    session = await create(client, english())
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
    paid = await create(client, english())
    expired = await create(client, english())
    stripe_fake.pay(paid["id"])
    stripe_fake.expire(expired["id"])
    again = await pay_on_page(paid["url"])
    async with httpx.AsyncClient() as browser:
        gone = await browser.get(expired["url"])
    assert page_error(again.text) == "This checkout session is already complete."
    assert "has expired" in (page_error(gone.text) or "")
    assert 'id="pay"' not in again.text + gone.text
    assert len(stripe_fake.events) == 2
