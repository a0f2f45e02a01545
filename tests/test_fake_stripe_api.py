"""The fake Stripe's API as a whole: listing, faults, authentication, errors, form decoding.

Events and sessions listed with filters and pages, injected faults and latency as the SDK
meets them, API keys, raw error shapes and headers, and the decoding of form bodies.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
import stripe
from hypothesis import given, settings
from hypothesis import strategies as st
from stripe._encode import _api_encode

from playground.stripe import API_VERSION, FakeStripe, FakeStripeError, decode_form, listify
from tests.stripe_helpers import API_KEY, DAY, create, donation, sdk

# fixtures: pytest looks them up by name; `as` tells ruff these imports are meant
from tests.stripe_helpers import client as client
from tests.stripe_helpers import stripe_fake as stripe_fake

# stripe 16's HTTPXClient passes the form body as `data=bytes`, which httpx 0.28 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


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
