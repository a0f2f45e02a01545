"""The Stripe simulator: the API the official SDK calls, Checkout pages, signed webhooks.

Start with :class:`FakeStripe` (:mod:`.server`). The modules, from the HTTP side inwards:

* :mod:`.server` - :class:`FakeStripe`, the HTTP server the SDK talks to: auth, idempotency,
  injected faults, latency, the request log, and the controls tests and the UI use.
* :mod:`.routes` - the v1 API endpoints; :mod:`.params` - form decoding, parameter specs,
  Stripe's error shapes and the :data:`API_VERSION` they follow.
* :mod:`.webhooks` - signing webhooks and delivering them, by hand or automatically.
* :mod:`.checkout_page` - the hosted Checkout page (``/pay/{session_id}``).
* :mod:`.account` - :class:`StripeAccount`, the simulated account (no HTTP), made of
  :mod:`.account_state` (objects, clock, ids, sessions, events), :mod:`.account_payments`
  (paying, settling, refunds, disputes) and :mod:`.account_subscriptions` (subscriptions,
  renewals, cancellation).
* The objects: :mod:`.checkout_sessions` (Checkout Session parameters, rules and objects),
  :mod:`.payment_objects`, :mod:`.subscription_objects`, :mod:`.event_objects`,
  :mod:`.expansion` (``expand``), :mod:`.pagination` (list answers) and :mod:`.currencies`
  (minor units, Stripe's limits, conversion).
"""

from playground.stripe.account import StripeAccount
from playground.stripe.params import API_VERSION, FakeStripeError, decode_form, listify
from playground.stripe.server import (
    DEFAULT_API_KEY,
    DEFAULT_WEBHOOK_SECRET,
    FakeStripe,
    StripeRequest,
    mask_api_key,
)
from playground.stripe.webhooks import Delivery, WebhookAttempt, sign_payload

__all__ = [
    "API_VERSION",
    "DEFAULT_API_KEY",
    "DEFAULT_WEBHOOK_SECRET",
    "Delivery",
    "FakeStripe",
    "FakeStripeError",
    "StripeAccount",
    "StripeRequest",
    "WebhookAttempt",
    "decode_form",
    "listify",
    "mask_api_key",
    "sign_payload",
]
