"""Giving end to end: the real bot, the real stripe SDK, a fake Stripe and a fake Bot API.

Here: asking to give, the Checkout Session, the webhook endpoint and the thank-you, and the
helpers the other giving tests import. What the total counts is in
test_donation_accounting.py; monthly gifts are in test_donation_monthly.py.
"""

import asyncio
import json
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus

import httpx
import pytest

from handlers.donations import after_payments
from tests.conftest import STRIPE_KEY, RunningBot, running_bot
from tests.test_conversation import plain, say
from tgbot.payments.gateway import PaymentsUnavailable, StripeGateway
from tgbot.payments.money import Money
from tgbot.runtime.web import create_web_app
from tgbot.text.faq import default_faq
from tgbot.text.i18n import texts

DONOR = 987_654_321  # distinctive, so a leak into any Stripe request would be found


@asynccontextmanager
async def giving_bot(bot_api, stripe_fake, settings) -> AsyncIterator[RunningBot]:
    """The bot with donations on, and an HTTP client for its web app (webhooks)."""
    async with running_bot(bot_api, settings) as running:
        web = create_web_app(running.application, running.services, telegram_secret=None)
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://bot") as http:
            running.http = http
            running.stripe = stripe_fake
            yield running


@pytest.fixture
async def giving(bot_api, stripe_fake, make_settings, stripe_settings):
    async with giving_bot(bot_api, stripe_fake, make_settings(**stripe_settings)) as running:
        yield running


async def deliver(giving, event, **signing) -> httpx.Response:
    return await giving.stripe.deliver(
        event, "http://bot/stripe/webhook", client=giving.http, **signing
    )


def only_session(giving) -> dict:
    (session,) = giving.stripe.sessions.values()
    return session


async def donate(giving, user, text: str = "/donate 25 EUR"):
    link = await say(giving, user, text)
    assert link.buttons[0]["url"].startswith(giving.stripe.base_url), link.text
    return link


async def kept_total(giving) -> Money:
    return (await giving.services.payments.progress()).raised


async def start_monthly(giving, user, amount: int = 1000) -> dict:
    """Ask for a monthly gift through the buttons and return its Checkout Session."""
    offer = await say(giving, user, "/donate")  # in US dollars for an English client
    giving.api.press_button(user, offer, "don:show:month:usd")
    monthly = await giving.api.wait_for_message(user["id"])
    giving.api.press_button(user, monthly, "don:show:month:eur")
    monthly = await giving.api.wait_for_message(user["id"])
    giving.api.press_button(user, monthly, f"don:pay:month:eur:{amount}")
    link = await giving.api.wait_for_message(user["id"])
    assert link.text == plain("en", "donate.link_monthly", amount=Money(amount, "eur"))
    return only_session(giving)


async def test_donate_offers_presets_in_the_languages_currency_and_switches(giving):
    user = giving.api.make_user(DONOR, language_code="de")
    offer = await say(giving, user, "/donate")
    assert offer.text == plain("de", "donate.choose")
    data = [button["callback_data"] for button in offer.buttons]
    assert data[:4] == [f"don:pay:once:eur:{amount}" for amount in (1000, 2500, 5000, 10000)]
    assert data[4:] == [
        "don:other:once:eur",
        "don:show:once:usd",
        "don:keep",
        "don:show:once:gbp",
        "don:show:month:eur",
    ]
    assert offer.buttons[0]["text"] == "10,00\xa0€"
    giving.api.press_button(user, offer, "don:show:once:gbp")
    in_pounds = await giving.api.wait_for_message(DONOR)
    assert in_pounds.method == "editMessageText"
    assert in_pounds.buttons[0]["callback_data"] == "don:pay:once:gbp:1000"
    giving.api.press_button(user, in_pounds, "don:show:month:gbp")
    monthly = await giving.api.wait_for_message(DONOR)
    assert monthly.text == plain("de", "donate.choose_monthly")
    assert monthly.buttons[0]["callback_data"] == "don:pay:month:gbp:1000"
    giving.api.press_button(user, monthly, "don:keep")
    assert (await giving.api.wait_for_call("answerCallbackQuery")).ok
    assert giving.stripe.requests == []


async def test_donate_25_eur_creates_the_checkout_session_stripe_expects(giving):
    user = giving.api.make_user(DONOR, language_code="fr")
    link = await donate(giving, user)
    assert link.text == plain("fr", "donate.link", amount=Money(2500, "eur"))
    assert link.buttons[0]["text"] == texts("fr")("donate.pay_button", amount=Money(2500, "eur"))
    (request,) = giving.stripe.requests_to("POST", "/v1/checkout/sessions")
    params = request.params
    assert (params["mode"], params["submit_type"], params["locale"]) == ("payment", "donate", "fr")
    (item,) = params["line_items"]
    assert item["price_data"]["unit_amount"] in (2500, "2500")
    assert item["price_data"]["currency"] == "eur"
    assert item["price_data"]["product_data"]["name"] == texts("fr")("donate.product_name")
    assert params["adaptive_pricing"]["enabled"] in (False, "false")
    bot_link = f"https://t.me/{giving.api.username}"
    assert (params["success_url"], params["cancel_url"]) == (
        f"{bot_link}?start=paid",
        f"{bot_link}?start=donate",
    )
    intent = params["client_reference_id"]
    assert params["metadata"] == {"intent": intent}
    assert request.idempotency_key == f"appeal-bot-{intent}"
    session = only_session(giving)
    assert (session["amount_total"], session["currency"]) == (2500, "eur")
    assert link.buttons[0]["url"] == session["url"]


@pytest.mark.parametrize(
    ("typed", "minor", "currency"),
    [("€25", 2500, "eur"), ("25,50 EUR", 2550, "eur"), ("£10", 1000, "gbp"), ("7", 700, "usd")],
)
async def test_typed_amounts_reach_stripe_exactly(giving, typed, minor, currency):
    user = giving.api.make_user(DONOR, language_code="en")
    await donate(giving, user, f"/donate {typed}")
    session = only_session(giving)
    assert (session["amount_total"], session["currency"]) == (minor, currency)


@pytest.mark.parametrize(
    ("typed", "key", "params"),
    [
        ("0", "amount.not_positive", {}),
        ("-5 EUR", "amount.not_positive", {}),
        ("1e3", "amount.not_a_number", {}),
        ("NaN", "amount.not_a_number", {}),
        ("25.555", "amount.too_many_decimals", {}),
        ("25 RUB", "amount.unknown_currency", {}),
        ("£0.20", "amount.below_minimum", {"minimum": Money(30, "gbp")}),
        ("20000 EUR", "amount.above_maximum", {"maximum": Money(1_000_000, "eur")}),
    ],
)
async def test_refused_amounts_are_explained_and_never_reach_stripe(giving, typed, key, params):
    user = giving.api.make_user(DONOR, language_code="en")
    reply = await say(giving, user, f"/donate {typed}")
    assert reply.text == plain("en", key, **params)
    assert giving.stripe.requests == []


async def test_other_amount_waits_for_a_typed_amount(giving):
    user = giving.api.make_user(DONOR, language_code="es")
    offer = await say(giving, user, "/donate")
    giving.api.press_button(user, offer, "don:other:once:eur")
    assert (await giving.api.wait_for_message(DONOR)).text == plain(
        "es", "donate.other_prompt", currency="EUR"
    )
    assert (await say(giving, user, "0,00")).text == plain("es", "amount.not_positive")
    link = await say(giving, user, "12,50")
    assert link.text == plain("es", "donate.link", amount=Money(1250, "eur"))
    reply = await say(giving, user, "¿cuánto cuesta salvar a una persona?")  # no longer waiting
    assert "4555" in reply.text


async def test_a_question_instead_of_an_amount_ends_the_wait(giving):
    user = giving.api.make_user(DONOR, language_code="en")
    offer = await say(giving, user, "/donate")
    giving.api.press_button(user, offer, "don:other:once:usd")
    await giving.api.wait_for_message(DONOR)
    assert "Russian LGBT Network" in (await say(giving, user, "who runs the appeal?")).text
    assert giving.stripe.requests == []


async def test_asking_twice_gives_the_same_link_and_one_session(giving):
    user = giving.api.make_user(DONOR, language_code="en")
    offer = await say(giving, user, "/donate")
    giving.api.press_button(user, offer, "don:pay:once:usd:2500")
    giving.api.press_button(user, offer, "don:pay:once:usd:2500")  # a double tap
    first = await giving.api.wait_for_message(DONOR)
    second = await giving.api.wait_for_message(DONOR)
    assert first.buttons[0]["url"] == second.buttons[0]["url"]
    assert second.text == plain("en", "donate.link_again", amount=Money(2500, "usd"))
    assert giving.stripe.sessions_created == 1


async def test_too_many_links_per_hour_are_refused_without_calling_stripe(
    bot_api, stripe_fake, make_settings, stripe_settings
):
    settings = make_settings(**stripe_settings, donation_sessions_per_hour=2)
    async with running_bot(bot_api, settings) as running:
        user = bot_api.make_user(DONOR, language_code="en")
        for amount in (5, 6):
            await say(running, user, f"/donate {amount}")
        reply = await say(running, user, "/donate 7")
    assert reply.text == plain("en", "donate.rate_limited")
    assert stripe_fake.sessions_created == 2


async def test_stripe_failure_is_a_clear_try_again_later(giving, production_logging):
    giving.stripe.fail_next("POST", "/v1/checkout/sessions", status=500, count=3)
    user = giving.api.make_user(DONOR, language_code="ru")
    reply = await say(giving, user, "/donate 10")
    assert reply.text == plain("ru", "donate.unreachable")
    assert len(giving.stripe.requests_to("POST", "/v1/checkout/sessions")) == 3  # 2 retries
    assert "APIError (status 500" in production_logging.text
    assert STRIPE_KEY not in production_logging.text


async def test_a_slow_stripe_is_a_timeout_not_a_hang(stripe_fake):
    stripe_fake.set_latency(1.0)
    gateway = StripeGateway(STRIPE_KEY, stripe_fake.base_url, None, timeout=0.2)
    async with gateway:
        with pytest.raises(PaymentsUnavailable, match=r"Timeout|Connection"):
            await gateway.create_checkout(
                {
                    "mode": "payment",
                    "success_url": "https://t.me/x",
                    "line_items": [
                        {
                            "price_data": {
                                "currency": "eur",
                                "unit_amount": 500,
                                "product_data": {"name": "Gift"},
                            },
                            "quantity": 1,
                        }
                    ],
                },
                "key-1",
            )


async def test_asking_how_to_donate_offers_the_amount_buttons(giving):
    user = giving.api.make_user(DONOR, language_code="en")
    await say(giving, user, "how can I donate?")
    offer = await giving.api.wait_for_message(DONOR)
    assert offer.text == plain("en", "donate.choose")


async def test_a_thank_you_refused_with_a_5xx_is_sent_by_the_next_run(giving):
    """Telegram surely did not deliver it: the next follow-up run (reconciliation's, at the
    latest) sends it, once."""
    user = giving.api.make_user(DONOR, language_code="en")
    await donate(giving, user)
    giving.api.fail_next("sendMessage", 502)
    await deliver(giving, giving.stripe.pay(only_session(giving)["id"]))
    await giving.api.wait_for_call("sendMessage", predicate=lambda call: call.status == 502)
    await after_payments(giving.application.bot, giving.services)
    thanks = await giving.api.wait_for_message(DONOR)
    assert thanks.text.startswith(visible_start("en", "donate.thanks", Money(2500, "eur")))
    await after_payments(giving.application.bot, giving.services)
    assert len(giving.api.sent_messages(DONOR)) == 2  # the link, one thank-you


async def test_pay_webhook_thanks_once_and_progress_shows_it(giving):
    user = giving.api.make_user(DONOR, language_code="en")
    await donate(giving, user)
    event = giving.stripe.pay(only_session(giving)["id"], settle_currency="eur")
    response = await deliver(giving, event)
    assert (response.status_code, response.json()["duplicate"]) == (HTTPStatus.OK, False)
    thanks = await giving.api.wait_for_message(DONOR)
    assert thanks.text.startswith(visible_start("en", "donate.thanks", Money(2500, "eur")))
    assert next(b.get("switch_inline_query") for b in thanks.buttons) == ""
    assert thanks.buttons[1]["callback_data"] == "sub:on"

    again = await deliver(giving, event)
    assert (again.status_code, again.json()["duplicate"]) == (HTTPStatus.OK, True)
    progress = await say(giving, user, "/progress")
    assert "€25.00" in progress.text
    assert "€1,000.00" in progress.text
    assert "2.5%" in progress.text
    assert plain("en", "progress.donations", count=1) in progress.text
    assert len([m for m in giving.api.sent_messages(DONOR) if "Thank you" in m.text]) == 1

    giving.api.press_button(user, thanks, "sub:on")
    confirmation = await giving.api.wait_for_message(DONOR)
    assert confirmation.text.startswith(plain("en", "subscribe.done"))


def visible_start(language: str, key: str, amount: Money) -> str:
    """The first line of a message, which holds no nested placeholders."""
    return plain(language, key, amount=amount, impact="").split("\n")[0]


async def test_twenty_concurrent_deliveries_count_once(giving):
    user = giving.api.make_user(DONOR, language_code="en")
    await donate(giving, user)
    event = giving.stripe.pay(only_session(giving)["id"])
    responses = await asyncio.gather(*(deliver(giving, event) for _ in range(20)))
    assert {r.status_code for r in responses} == {HTTPStatus.OK}
    assert sum(not r.json()["duplicate"] for r in responses) == 1
    assert await kept_total(giving) == Money(2500, "eur")
    await giving.api.wait_for_message(DONOR)  # the one thank-you
    await say(giving, user, "/help")
    assert len(giving.api.sent_messages(DONOR)) == 3  # link, thanks, help


@pytest.mark.parametrize(
    "tamper",
    ["no signature", "wrong secret", "changed body", "too old"],
)
async def test_unsigned_or_stale_webhooks_are_refused_and_change_nothing(giving, tamper):
    user = giving.api.make_user(DONOR, language_code="en")
    await donate(giving, user)
    event = giving.stripe.pay(only_session(giving)["id"])
    body, signature = giving.stripe.signed(event)
    headers = {"Stripe-Signature": signature, "Content-Type": "application/json"}
    if tamper == "no signature":
        headers.pop("Stripe-Signature")
    elif tamper == "wrong secret":
        body, headers["Stripe-Signature"] = giving.stripe.signed(event, secret="whsec_other")
    elif tamper == "changed body":
        body = body.replace(b'"paid"', b'"PAID"')
    else:
        body, headers["Stripe-Signature"] = giving.stripe.signed(
            event, timestamp=int(time.time()) - 301
        )
    response = await giving.http.post("/stripe/webhook", content=body, headers=headers)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert await giving.services.storage.donations.export() == []


@pytest.mark.logs_errors
async def test_an_event_that_cannot_be_stored_gets_500_and_its_retry_counts(giving):
    user = giving.api.make_user(DONOR, language_code="en")
    await donate(giving, user)
    event = giving.stripe.pay(only_session(giving)["id"])
    path = giving.services.settings.database_path
    with sqlite3.connect(path) as other:  # another process breaks writes, like a full disk
        other.execute(
            "CREATE TRIGGER full_disk BEFORE INSERT ON donations"
            " BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )
    failed = await deliver(giving, event)
    assert failed.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert await giving.services.storage.donations.export() == []
    with sqlite3.connect(path) as other:
        other.execute("DROP TRIGGER full_disk")
    retried = await deliver(giving, event)  # nothing half-written: the event id is not taken
    assert (retried.status_code, retried.json()["duplicate"]) == (HTTPStatus.OK, False)
    assert await kept_total(giving) == Money(2500, "eur")


async def test_without_a_webhook_secret_the_endpoint_says_not_configured(
    bot_api, stripe_fake, make_settings, stripe_settings
):
    settings = make_settings(**(stripe_settings | {"stripe_webhook_secret": None}))
    async with running_bot(bot_api, settings) as running:
        web = create_web_app(running.application, running.services, telegram_secret=None)
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://bot") as http:
            response = await http.post("/stripe/webhook", content=b"{}")
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE


async def test_oversized_or_malformed_stripe_posts_are_refused(giving, production_logging):
    huge = b"{" + b" " * 1_000_001 + b"}"
    response = await giving.http.post("/stripe/webhook", content=huge)
    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    event = {
        "id": "evt_broken",
        "object": "event",
        "type": "checkout.session.completed",
        "created": int(time.time()),
        "data": {"object": {"id": "cs_x", "mode": "payment", "client_reference_id": "i"}},
    }
    response = await deliver(giving, event)  # correctly signed, but no payment_status
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "KeyError in a 'checkout.session.completed' event" in production_logging.text
    assert await giving.services.storage.donations.export() == []


async def test_a_delayed_payment_is_thanked_when_it_succeeds(giving):
    user = giving.api.make_user(DONOR, language_code="de")
    await donate(giving, user)
    session = only_session(giving)["id"]
    await deliver(giving, giving.stripe.pay_async(session))
    assert await kept_total(giving) == Money(0, "eur")
    await deliver(giving, giving.stripe.settle_async(session, succeeded=True))
    thanks = await giving.api.wait_for_message(DONOR, predicate=lambda m: "Danke" in m.text)
    assert "25,00\xa0€" in thanks.text


async def test_thanks_say_what_the_gift_does_in_evacuations(giving):
    user = giving.api.make_user(DONOR, language_code="en")
    await donate(giving, user, "/donate 45.55 USD")
    await deliver(giving, giving.stripe.pay(only_session(giving)["id"]))
    thanks = await giving.api.wait_for_message(DONOR, predicate=lambda m: "Thank" in m.text)
    assert "about 1% of one person's evacuation" in thanks.text


async def test_asking_how_much_is_raised_shows_the_live_progress(giving):
    user = giving.api.make_user(DONOR, language_code="ru")
    await donate(giving, user)
    await deliver(giving, giving.stripe.pay(only_session(giving)["id"]))
    await giving.api.wait_for_message(DONOR)  # thanks
    answer = await say(giving, user, "сколько уже собрали?")
    assert answer.text == default_faq().topic("ru", "progress").answer
    progress = await giving.api.wait_for_message(DONOR)
    assert "25,00\xa0€" in progress.text
    assert progress.buttons[0]["callback_data"] == "prog:"


async def test_no_telegram_id_ever_reaches_stripe(giving):
    user = giving.api.make_user(DONOR, language_code="en")
    await donate(giving, user)
    await deliver(giving, giving.stripe.pay(only_session(giving)["id"]))
    await giving.services.payments.reconcile()
    assert giving.stripe.requests
    for request in giving.stripe.requests:
        assert str(DONOR) not in request.body + json.dumps(request.params) + request.path
