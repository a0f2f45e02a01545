"""The fake Stripe's webhook endpoints: added as in the Dashboard, listed and retrieved as by
the API (`python -m tgbot check` reads them), with Stripe's shapes and errors."""

from __future__ import annotations

import pytest
import stripe

from playground.stripe import API_VERSION, FakeStripe
from tests.stripe_helpers import _assert_sdk_shape

# fixtures: pytest looks them up by name; `as` tells ruff these imports are meant
from tests.stripe_helpers import client as client
from tests.stripe_helpers import stripe_fake as stripe_fake

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


async def test_endpoints_are_listed_newest_first_in_pages(
    stripe_fake: FakeStripe, client: stripe.StripeClient
) -> None:
    stripe_fake.now = 1_800_000_000
    first = stripe_fake.add_webhook_endpoint(
        "https://bot.example/stripe/webhook", ["invoice.paid"], api_version=API_VERSION
    )
    stripe_fake.advance(10)
    second = stripe_fake.add_webhook_endpoint(
        "https://other.example/hook", ["*"], status="disabled", description="old"
    )
    page = await client.v1.webhook_endpoints.list_async({"limit": 1})
    assert (page["url"], page.has_more, [e.id for e in page.data]) == (
        "/v1/webhook_endpoints",
        True,
        [second["id"]],
    )
    rest = await client.v1.webhook_endpoints.list_async({"starting_after": second["id"]})
    assert (rest.has_more, [e.id for e in rest.data]) == (False, [first["id"]])
    listed = rest.data[0].to_dict()
    assert listed == {
        "id": first["id"],
        "object": "webhook_endpoint",
        "api_version": API_VERSION,
        "application": None,
        "created": 1_800_000_000,
        "description": None,
        "enabled_events": ["invoice.paid"],
        "livemode": False,
        "metadata": {},
        "status": "enabled",
        "url": "https://bot.example/stripe/webhook",
    }
    _assert_sdk_shape(listed, stripe.WebhookEndpoint)
    assert "secret" not in listed  # Stripe shows the signing secret only when creating
    assert stripe_fake.violations == []


async def test_an_endpoint_is_retrieved_by_id_and_an_unknown_one_is_missing(
    stripe_fake: FakeStripe, client: stripe.StripeClient
) -> None:
    added = stripe_fake.add_webhook_endpoint("https://bot.example/stripe/webhook", ["*"])
    found = await client.v1.webhook_endpoints.retrieve_async(added["id"])
    assert found.to_dict() == added
    assert found["api_version"] is None  # the account's default version
    with pytest.raises(stripe.InvalidRequestError) as missing:
        await client.v1.webhook_endpoints.retrieve_async("we_unknown")
    assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")
    assert missing.value.user_message == "No such webhook_endpoint: 'we_unknown'"


async def test_list_parameters_are_checked(
    stripe_fake: FakeStripe, client: stripe.StripeClient
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        await client.v1.webhook_endpoints.list_async({"status": "enabled"})  # type: ignore[typeddict-unknown-key]
    assert unknown.value.param == "status"
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.webhook_endpoints.list_async({"limit": 101})
    assert len(stripe_fake.violations) == 2
    stripe_fake.violations.clear()


@pytest.mark.parametrize(
    ("url", "events", "options", "problem"),
    [
        ("ftp://bot.example/hook", ["*"], {}, "Invalid URL"),
        ("https://bot.example/hook", [], {}, "Invalid enabled_events"),
        ("https://bot.example/hook", ["invoice.payed"], {}, "Invalid enabled_events"),
        ("https://bot.example/hook", ["*"], {"api_version": "2099-01-01"}, "Invalid api_version"),
        ("https://bot.example/hook", ["*"], {"status": "paused"}, "Invalid status"),
    ],
)
def test_adding_an_endpoint_stripe_would_refuse_raises(
    stripe_fake: FakeStripe, url: str, events: list[str], options: dict, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        stripe_fake.add_webhook_endpoint(url, events, **options)
    assert stripe_fake.webhook_endpoints == {}
