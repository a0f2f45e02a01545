"""The simulated Stripe account behind :class:`~playground.stripe.server.FakeStripe`.

:class:`StripeAccount` holds every object the fake knows, creates Checkout Sessions from
validated parameters, and simulates what happens outside the API (a donor paying, a bank
settling a delayed payment, a refund from the Dashboard, a chargeback) the way Stripe records
it: objects change and events are stored. It does no HTTP;
:class:`~playground.stripe.server.FakeStripe` serves it over the API.

The class is assembled from three parts: :mod:`.account_state` (objects, clock, ids,
sessions, events), :mod:`.account_payments` (one-time payments, refunds, disputes) and
:mod:`.account_subscriptions` (subscriptions and their invoices).
"""

from __future__ import annotations

from playground.stripe.account_subscriptions import SubscriptionActions
from playground.stripe.event_objects import EVENT_RETENTION_SECONDS

__all__ = ["EVENT_RETENTION_SECONDS", "StripeAccount"]


class StripeAccount(SubscriptionActions):
    """A test-mode Stripe account's state and the test-side actions that change it.

    Public state (read it in tests): ``sessions``, ``payment_intents``, ``charges``,
    ``balance_transactions``, ``disputes``, ``refunds``, ``payment_methods``, ``customers``,
    ``subscriptions``, ``invoices``, ``invoice_payments``, ``webhook_endpoints`` (objects by id;
    stored invoices leave out the includable ``payments`` list); ``events`` (every event,
    oldest first); ``sessions_created`` (sessions created, idempotent replays not counted).

    Test-side actions raise ``KeyError`` for unknown ids and ``ValueError`` for actions the
    object's state does not allow (paying an expired session, over-refunding).
    """
