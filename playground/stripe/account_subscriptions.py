"""The simulated Stripe account behind :mod:`playground.stripe.api`: objects, clock, events.

:class:`StripeAccount` holds every object the fake knows, creates Checkout Sessions from
validated parameters, and simulates what happens outside the API (a donor paying, a bank
settling a delayed payment, a refund from the Dashboard, a chargeback) the way Stripe records
it: objects change and events are stored. It does no HTTP; :class:`~playground.stripe.api.
FakeStripe` serves it over the API.

Monthly giving is modelled as Stripe Billing does it for a ``subscription``-mode Checkout
Session: paying it creates a Customer, a Subscription and a paid first Invoice (with an
InvoicePayment pointing at the PaymentIntent, whose Charge and BalanceTransaction are made as
for one-time payments); :meth:`StripeAccount.renew` bills the next period and
:meth:`StripeAccount.cancel_subscription` ends it.

Simplifications are noted where they happen (search for "Simplification").
"""

from __future__ import annotations

import copy
import random
import string
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode

from stripe._encode import _api_encode

from playground.stripe import objects
from playground.stripe.checkout import build_line_items, build_session, parse_session_create
from playground.stripe.params import JSONDict, decode_form

__all__ = ["EVENT_RETENTION_SECONDS", "StripeAccount"]

#: Stripe keeps events for 30 days; older ones are neither listed nor retrievable.
EVENT_RETENTION_SECONDS = 30 * 24 * 60 * 60
_ID_ALPHABET = string.ascii_letters + string.digits
#: Descriptions Stripe gives the PaymentIntents of subscription invoices.
_INTENT_DESCRIPTIONS = {
    "subscription_create": "Subscription creation",
    "subscription_cycle": "Subscription update",
}


@dataclass(frozen=True)
class _Settlement:
    """How a card payment settles in the account's balance (see :meth:`StripeAccount.pay`)."""

    currency: str
    exchange_rate: float
    fee_rate: float
    fee_fixed: int

    def check(self, currency: str) -> None:
        if self.currency == currency and self.exchange_rate != 1.0:
            raise ValueError("exchange_rate must be 1.0 when nothing is converted")


@dataclass(frozen=True)
class _LineSpec:
    """What one invoice line bills: a subscription item's period, or a one-time price."""

    price: JSONDict
    quantity: int
    period: tuple[int, int]
    item_id: str | None = None


class StripeAccount:
    """A test-mode Stripe account's state and the test-side actions that change it.

    Public state (read it in tests): ``sessions``, ``payment_intents``, ``charges``,
    ``balance_transactions``, ``disputes``, ``refunds``, ``payment_methods``, ``customers``,
    ``subscriptions``, ``invoices``, ``invoice_payments`` (objects by id; stored invoices
    leave out the includable ``payments`` list); ``events`` (every event, oldest first);
    ``sessions_created`` (sessions created, idempotent replays not counted).

    Test-side actions raise ``KeyError`` for unknown ids and ``ValueError`` for actions the
    object's state does not allow (paying an expired session, over-refunding).
    """

    def __init__(self, *, seed: int | None = None) -> None:
        self.sessions: dict[str, JSONDict] = {}
        self.payment_intents: dict[str, JSONDict] = {}
        self.charges: dict[str, JSONDict] = {}
        self.balance_transactions: dict[str, JSONDict] = {}
        self.disputes: dict[str, JSONDict] = {}
        self.refunds: dict[str, JSONDict] = {}
        self.payment_methods: dict[str, JSONDict] = {}
        self.customers: dict[str, JSONDict] = {}
        self.subscriptions: dict[str, JSONDict] = {}
        self.invoices: dict[str, JSONDict] = {}
        self.invoice_payments: dict[str, JSONDict] = {}
        self.events: list[JSONDict] = []
        self.sessions_created = 0
        self._random = random.Random(seed)
        self._line_items: dict[str, list[JSONDict]] = {}
        self._params_by_session: dict[str, JSONDict] = {}
        self._events_by_id: dict[str, JSONDict] = {}
        self._frozen_now: int | None = None
        self._product_names: dict[str, str] = {}  # price id -> product name
        self._invoices_per_customer: dict[str, int] = {}
        self._periods_billed: dict[str, int] = {}  # subscription id -> periods invoiced

    @property
    def base_url(self) -> str:
        """Root of the account's public URLs (checkout pages, receipts)."""
        return "http://fake-stripe.invalid"

    # -- sessions ----------------------------------------------------------------------------

    def create_session(self, params: Mapping[str, Any]) -> JSONDict:
        """Create a Checkout Session from SDK-style ``params`` without going through HTTP.

        ``params`` are what you would pass to ``sessions.create_async``; they are encoded
        like the SDK does and checked like the API does (:class:`FakeStripeError` if invalid).
        """
        encoded = urlencode(list(_api_encode(dict(params))))
        return self.create_session_from_form(
            decode_form(parse_qsl(encoded, keep_blank_values=True))
        )

    def create_session_from_form(self, form: JSONDict) -> JSONDict:
        """Create a Checkout Session from decoded form parameters; returns the stored object."""
        now = self.now
        draft = parse_session_create(form, now)
        session_id = self.new_id("cs_test_", 58)
        session = build_session(draft, session_id, f"{self.base_url}/pay/{session_id}", now)
        self.sessions[session_id] = session
        self._line_items[session_id] = build_line_items(draft, self.new_id, now)
        self._params_by_session[session_id] = draft.params
        self.sessions_created += 1
        return session

    def session_line_items(self, session_id: str) -> list[JSONDict]:
        """The ``item`` objects of a session (stored objects, not copies)."""
        return self._line_items.get(session_id, [])

    # -- clock -------------------------------------------------------------------------------

    @property
    def now(self) -> int:
        """The fake's Unix time: real time unless set (then frozen until set to ``None``)."""
        return self._frozen_now if self._frozen_now is not None else int(time.time())

    @now.setter
    def now(self, value: float | None) -> None:
        self._frozen_now = None if value is None else int(value)
        self.expire_due_sessions()

    def advance(self, seconds: float) -> list[JSONDict]:
        """Move the (then frozen) clock forward; returns the events of sessions that expired."""
        self._frozen_now = self.now + int(seconds)
        return self.expire_due_sessions()

    # -- test side: payments -----------------------------------------------------------------

    def pay(
        self,
        session_id: str,
        *,
        settle_currency: str = "usd",
        exchange_rate: float = 1.0,
        fee_rate: float = 0.029,
        fee_fixed: int = 30,
        email: str = "donor@example.com",
        name: str = "Test Donor",
    ) -> JSONDict:
        """The customer pays an open session by card; returns ``checkout.session.completed``.

        Payment mode creates a succeeded PaymentIntent, a Charge and a BalanceTransaction of
        ``round(amount * exchange_rate)`` in ``settle_currency`` (``exchange_rate`` is per
        major unit; reported as ``null`` when no conversion happened) with a fee of
        ``round(settled * fee_rate) + fee_fixed``. Subscription mode does what
        :meth:`pay_subscription` does and returns its ``checkout.session.completed`` event.
        """
        session = self._open_session(session_id)
        settlement = _Settlement(settle_currency, exchange_rate, fee_rate, fee_fixed)
        if session["mode"] == "subscription":
            events = self._pay_subscription(session, settlement, email, name)
            return events["checkout.session.completed"]
        if session["mode"] != "payment":
            raise ValueError("pay() does not simulate setup-mode sessions")
        settlement.check(session["currency"])
        intent = self._new_intent(session, "succeeded", "card", email, name)
        self._settle(intent, settlement, email, name)
        self._complete(session, "paid", email, name)
        return self._emit("checkout.session.completed", session)

    def pay_subscription(
        self,
        session_id: str,
        *,
        settle_currency: str = "usd",
        exchange_rate: float = 1.0,
        fee_rate: float = 0.029,
        fee_fixed: int = 30,
        email: str = "donor@example.com",
        name: str = "Test Donor",
    ) -> dict[str, JSONDict]:
        """The customer pays an open ``subscription``-mode session; returns its events by type.

        Creates, like Stripe: a Customer (with the card as a saved PaymentMethod), an active
        Subscription (``metadata`` from ``subscription_data.metadata``, ``latest_invoice``
        set), its first Invoice (``billing_reason`` ``subscription_create``, ``status``
        ``paid``, one line per checkout line item; one-time prices are billed on it only) with
        an InvoicePayment for a PaymentIntent described "Subscription creation", and that
        intent's Charge and BalanceTransaction as :meth:`pay` makes them. The session
        completes with ``subscription``, ``invoice`` and ``customer`` set; its
        ``payment_intent`` stays ``null``, as in subscription mode.

        Events, in this order: ``customer.subscription.created``, ``invoice_payment.paid``,
        ``invoice.paid``, ``invoice.payment_succeeded``, ``checkout.session.completed``.
        Simplification: no ``customer.created``, ``invoice.created``/``finalized``,
        ``payment_intent.*`` or ``charge.*`` events, and the subscription is ``active`` in
        every snapshot (Stripe creates it ``incomplete`` for a moment).
        """
        session = self._open_session(session_id)
        if session["mode"] != "subscription":
            raise ValueError(
                f"session {session_id} is in {session['mode']} mode; use pay() for one-time "
                "payments"
            )
        settlement = _Settlement(settle_currency, exchange_rate, fee_rate, fee_fixed)
        return self._pay_subscription(session, settlement, email, name)

    def renew(
        self,
        subscription_id: str,
        *,
        settle_currency: str = "usd",
        exchange_rate: float = 1.0,
        fee_rate: float = 0.029,
        fee_fixed: int = 30,
    ) -> JSONDict:
        """An active subscription enters its next period and Stripe charges the saved card.

        Creates the period's Invoice (``billing_reason`` ``subscription_cycle``, one line per
        subscription item for the new period) with a new InvoicePayment, PaymentIntent
        ("Subscription update"), Charge and BalanceTransaction, and moves the items'
        ``current_period_start``/``current_period_end`` on. Stores
        ``customer.subscription.updated``, ``invoice_payment.paid``, ``invoice.paid`` and
        ``invoice.payment_succeeded``; returns ``invoice.paid``.

        Simplification: it happens at :attr:`now`, whenever that is; :meth:`advance` the clock
        to the period's end first for realistic timestamps.
        """
        subscribed = self._subscription(subscription_id)
        if subscribed["status"] != "active":
            raise ValueError(f"subscription {subscription_id} is {subscribed['status']}")
        settlement = _Settlement(settle_currency, exchange_rate, fee_rate, fee_fixed)
        settlement.check(subscribed["currency"])
        previous = {
            "items": copy.deepcopy(subscribed["items"]),
            "latest_invoice": subscribed["latest_invoice"],
        }
        items = subscribed["items"]["data"]
        recurring = items[0]["price"]["recurring"]
        billed = self._periods_billed[subscription_id] = (
            self._periods_billed.get(subscription_id, 1) + 1
        )
        last_start = items[0]["current_period_start"]
        start = items[0]["current_period_end"]
        end = objects.add_interval(
            subscribed["billing_cycle_anchor"],
            recurring["interval"],
            recurring["interval_count"] * billed,
        )
        for item in items:
            item.update(current_period_start=start, current_period_end=end)
        charges = [
            _LineSpec(item["price"], item["quantity"], (start, end), item["id"]) for item in items
        ]
        paid, payment = self._bill(
            subscribed, "subscription_cycle", charges, (last_start, start), settlement
        )
        self._emit("customer.subscription.updated", subscribed, previous_attributes=previous)
        self._emit("invoice_payment.paid", payment)
        event = self._emit("invoice.paid", paid)
        self._emit("invoice.payment_succeeded", paid)
        return event

    def cancel_subscription(
        self, subscription_id: str, *, comment: str | None = None, feedback: str | None = None
    ) -> JSONDict:
        """The donor (or the Dashboard) cancels a subscription now.

        Returns ``customer.subscription.deleted``; the subscription is ``canceled`` with
        ``canceled_at``/``ended_at`` set. Cancelling a canceled subscription raises
        ``ValueError``.
        """
        subscribed = self._subscription(subscription_id)
        if subscribed["status"] == "canceled":
            raise ValueError(f"subscription {subscription_id} is already canceled")
        return self.end_subscription(subscribed, comment=comment, feedback=feedback)

    def pay_async(
        self,
        session_id: str,
        *,
        payment_method_type: str = "sepa_debit",
        email: str = "donor@example.com",
        name: str = "Test Donor",
    ) -> JSONDict:
        """The customer submits a delayed payment (e.g. SEPA debit); returns the completed event.

        The session completes with ``payment_status`` ``unpaid`` and a ``processing``
        PaymentIntent; :meth:`settle_async` later decides the outcome.
        """
        session = self._open_session(session_id)
        if session["mode"] != "payment":
            raise ValueError("pay_async simulates payment-mode sessions only")
        self._new_intent(session, "processing", payment_method_type, email, name)
        self._complete(session, "unpaid", email, name)
        return self._emit("checkout.session.completed", session)

    def settle_async(
        self,
        session_id: str,
        succeeded: bool = True,
        *,
        settle_currency: str = "usd",
        exchange_rate: float = 1.0,
        fee_rate: float = 0.008,
        fee_fixed: int = 0,
    ) -> JSONDict:
        """The delayed payment of a :meth:`pay_async` session succeeds or fails.

        Returns ``checkout.session.async_payment_succeeded`` (payment_status ``paid``, charge
        and balance transaction created) or ``checkout.session.async_payment_failed``.
        """
        session = self._session(session_id)
        intent = self.payment_intents.get(session["payment_intent"] or "")
        if intent is None or intent["status"] != "processing":
            raise ValueError(f"session {session_id} has no processing payment (use pay_async)")
        if succeeded:
            details = self.payment_methods.get(intent["payment_method"] or "", {})
            billing = details.get("billing_details", {})
            settlement = _Settlement(settle_currency, exchange_rate, fee_rate, fee_fixed)
            self._settle(intent, settlement, billing.get("email"), billing.get("name"))
            session["payment_status"] = "paid"
            return self._emit("checkout.session.async_payment_succeeded", session)
        intent["status"] = "requires_payment_method"
        intent["last_payment_error"] = {
            "code": "payment_method_not_available",
            "message": "The payment failed (simulated by FakeStripe).",
            "type": "invalid_request_error",
        }
        return self._emit("checkout.session.async_payment_failed", session)

    def expire(self, session_id: str) -> JSONDict:
        """Expire an open session now; returns ``checkout.session.expired``."""
        return self.expire_session(self._open_session(session_id))

    def refund(
        self, charge_id: str, amount: int | None = None, *, reason: str | None = None
    ) -> JSONDict:
        """Refund (the rest of) a charge; returns ``charge.refunded``.

        ``amount_refunded`` is cumulative and ``refunded`` turns true once the whole amount is
        refunded. Refunding more than remains, or a charge with an open dispute, raises
        ``ValueError``.
        """
        charged = self._charge(charge_id)
        remaining = charged["amount"] - charged["amount_refunded"]
        amount = remaining if amount is None else amount
        if not 0 < amount <= remaining:
            raise ValueError(
                f"cannot refund {amount} of charge {charge_id}: {remaining} remains refundable"
            )
        if charged["disputed"] and any(
            dispute["charge"] == charge_id and dispute["status"] not in ("won", "lost")
            for dispute in self.disputes.values()
        ):
            raise ValueError(f"charge {charge_id} has been charged back; cannot issue a refund")
        refunded = objects.refund(self.new_id("re_"), charged, amount, self.now, reason)
        self.refunds[refunded["id"]] = refunded
        previous = {"amount_refunded": charged["amount_refunded"], "refunded": False}
        charged["amount_refunded"] += amount
        charged["refunded"] = charged["amount_refunded"] == charged["amount"]
        if not charged["refunded"]:
            del previous["refunded"]
        return self._emit("charge.refunded", charged, previous_attributes=previous)

    def fail_refund(self, refund_id: str, reason: str = "expired_or_canceled_card") -> JSONDict:
        """A refund fails (the card was closed): its amount goes back to the balance and off
        the charge's ``amount_refunded``; returns ``charge.refund.updated``."""
        refunded = self.refunds[refund_id]
        if refunded["status"] != "succeeded":
            raise ValueError(f"refund {refund_id} is {refunded['status']}, not succeeded")
        charged = self._charge(refunded["charge"])
        refunded["status"], refunded["failure_reason"] = "failed", reason
        charged["amount_refunded"] -= refunded["amount"]
        charged["refunded"] = False
        previous = {"status": "succeeded", "failure_reason": None}
        return self._emit("charge.refund.updated", refunded, previous_attributes=previous)

    def dispute(
        self,
        charge_id: str,
        amount: int | None = None,
        *,
        reason: str = "fraudulent",
        inquiry: bool = False,
    ) -> JSONDict:
        """The cardholder disputes a charge; returns ``charge.dispute.created``.

        An `inquiry` (``warning_needs_response``) only asks questions: no funds are taken
        unless it is escalated to a dispute (``update_dispute(..., "needs_response")``).
        Simplification: no balance transactions for the withdrawn funds and dispute fee.
        """
        charged = self._charge(charge_id)
        amount = charged["amount"] if amount is None else amount
        if not 0 < amount <= charged["amount"]:
            raise ValueError(f"dispute amount {amount} is not within the charge's amount")
        status = "warning_needs_response" if inquiry else "needs_response"
        disputed = objects.dispute(self.new_id("dp_"), charged, amount, reason, self.now, status)
        self.disputes[disputed["id"]] = disputed
        charged["disputed"] = True
        return self._emit("charge.dispute.created", disputed)

    def update_dispute(self, dispute_id: str, status: str = "under_review") -> JSONDict:
        """Move a dispute to another open status; returns ``charge.dispute.updated``."""
        if status not in ("needs_response", "under_review", "warning_under_review"):
            raise ValueError(f"not an open dispute status: {status!r}")
        return self._change_dispute(dispute_id, status, "charge.dispute.updated")

    def close_dispute(self, dispute_id: str, status: str = "lost") -> JSONDict:
        """Decide a dispute (``lost`` or ``won``) or close an inquiry (``warning_closed``);
        returns ``charge.dispute.closed``."""
        if status not in ("lost", "won", "warning_closed"):
            raise ValueError(
                f"a dispute closes as 'lost', 'won' or 'warning_closed', not {status!r}"
            )
        return self._change_dispute(dispute_id, status, "charge.dispute.closed")

    def add_event(
        self,
        event_type: str,
        obj: Mapping[str, Any],
        *,
        previous_attributes: Mapping[str, Any] | None = None,
    ) -> JSONDict:
        """Store an arbitrary event (e.g. one the integration must ignore) and return it."""
        return self._emit(event_type, obj, previous_attributes=previous_attributes)

    # -- state changes -----------------------------------------------------------------------

    def new_id(self, prefix: str, length: int = 24) -> str:
        """A random Stripe-style id: ``new_id("pi_")`` -> ``pi_3Nf...``."""
        return prefix + "".join(self._random.choices(_ID_ALPHABET, k=length))

    def _session(self, session_id: str) -> JSONDict:
        self.expire_due_sessions()
        try:
            return self.sessions[session_id]
        except KeyError:
            raise KeyError(f"no checkout session {session_id!r}") from None

    def _open_session(self, session_id: str) -> JSONDict:
        session = self._session(session_id)
        if session["status"] != "open":
            raise ValueError(f"session {session_id} is {session['status']}, not open")
        return session

    def _charge(self, charge_id: str) -> JSONDict:
        try:
            return self.charges[charge_id]
        except KeyError:
            raise KeyError(f"no charge {charge_id!r}") from None

    def _subscription(self, subscription_id: str) -> JSONDict:
        try:
            return self.subscriptions[subscription_id]
        except KeyError:
            raise KeyError(f"no subscription {subscription_id!r}") from None

    def _new_payment_method(
        self, method_type: str, email: str | None, name: str | None
    ) -> JSONDict:
        method = objects.card_payment_method(self.new_id("pm_"), self.now, email, name)
        if method_type != "card":
            del method["card"]
            method["type"] = method_type
            method[method_type] = {}
        self.payment_methods[method["id"]] = method
        return method

    def _new_intent(
        self, session: JSONDict, status: str, method_type: str, email: str | None, name: str | None
    ) -> JSONDict:
        method = self._new_payment_method(method_type, email, name)
        intent_data = self.session_params(session["id"]).get("payment_intent_data", {})
        customer_id = None
        if session["customer_creation"] == "always":
            created = objects.customer(self.new_id("cus_", 14), email, name, self.now)
            self.customers[created["id"]] = created
            customer_id = session["customer"] = created["id"]
        intent = objects.payment_intent(
            self.new_id("pi_"),
            amount=session["amount_total"],
            currency=session["currency"],
            now=self.now,
            status=status,
            payment_method=method["id"],
            payment_method_type=method_type,
            description=intent_data.get("description"),
            metadata=intent_data.get("metadata"),
            statement_descriptor_suffix=intent_data.get("statement_descriptor_suffix"),
            customer=customer_id,
        )
        self.payment_intents[intent["id"]] = intent
        session["payment_intent"] = intent["id"]
        return intent

    def _settle(
        self, intent: JSONDict, settlement: _Settlement, email: str | None, name: str | None
    ) -> None:
        settlement.check(intent["currency"])
        converted = settlement.currency != intent["currency"]
        settled = objects.convert(
            intent["amount"], intent["currency"], settlement.currency, settlement.exchange_rate
        )
        fee = round(settled * settlement.fee_rate) + settlement.fee_fixed
        charge_id = self.new_id("ch_")
        transaction = objects.balance_transaction(
            self.new_id("txn_"),
            source=charge_id,
            amount=settled,
            currency=settlement.currency,
            exchange_rate=settlement.exchange_rate if converted else None,
            fee=fee,
            now=self.now,
            description=intent["description"],
        )
        charged = objects.charge(
            charge_id,
            intent,
            balance_transaction=transaction["id"],
            now=self.now,
            receipt_url=f"{self.base_url}/receipts/{charge_id}",
            email=email,
            name=name,
            payment_method_type=intent["payment_method_types"][0],
        )
        self.balance_transactions[transaction["id"]] = transaction
        self.charges[charge_id] = charged
        intent.update(status="succeeded", latest_charge=charge_id, amount_received=intent["amount"])

    def _pay_subscription(
        self, session: JSONDict, settlement: _Settlement, email: str, name: str
    ) -> dict[str, JSONDict]:
        settlement.check(session["currency"])
        now = self.now
        email = session["customer_email"] or email
        created = objects.customer(self.new_id("cus_", 14), email, name, now)
        self.customers[created["id"]] = created
        method = self._new_payment_method("card", email, name)
        method["customer"] = created["id"]
        checkout_items = self._line_items[session["id"]]
        for item in checkout_items:
            self._product_names[item["price"]["id"]] = item["description"]
        recurring = [item for item in checkout_items if item["price"]["recurring"]]
        period = recurring[0]["price"]["recurring"]
        end = objects.add_interval(now, period["interval"], period["interval_count"])
        data = self.session_params(session["id"]).get("subscription_data", {})
        subscribed = objects.subscription(
            self.new_id("sub_"),
            customer_id=created["id"],
            items=recurring,
            metadata=data.get("metadata", {}),
            description=data.get("description"),
            default_payment_method=method["id"],
            now=now,
            period_end=end,
            make_id=self.new_id,
        )
        self.subscriptions[subscribed["id"]] = subscribed
        self._periods_billed[subscribed["id"]] = 1
        sub_items = iter(subscribed["items"]["data"])
        charges = [
            _LineSpec(item["price"], item["quantity"], (now, end), next(sub_items)["id"])
            if item["price"]["recurring"]
            else _LineSpec(item["price"], item["quantity"], (now, now))
            for item in checkout_items
        ]
        paid, payment = self._bill(
            subscribed, "subscription_create", charges, (now, now), settlement
        )
        session.update(customer=created["id"], subscription=subscribed["id"], invoice=paid["id"])
        self._complete(session, "paid", email, name)
        return {
            event["type"]: event
            for event in (
                self._emit("customer.subscription.created", subscribed),
                self._emit("invoice_payment.paid", payment),
                self._emit("invoice.paid", paid),
                self._emit("invoice.payment_succeeded", paid),
                self._emit("checkout.session.completed", session),
            )
        }

    def _bill(
        self,
        subscribed: JSONDict,
        reason: str,
        charges: list[_LineSpec],
        period: tuple[int, int],
        settlement: _Settlement,
    ) -> tuple[JSONDict, JSONDict]:
        """Invoice ``charges`` and pay them with the saved card; returns invoice and payment."""
        now = self.now
        billed = self.customers[subscribed["customer"]]
        invoice_id = self.new_id("in_")
        lines = []
        for spec in charges:
            unit = Decimal(spec.price["unit_amount_decimal"])
            amount = unit * spec.quantity
            lines.append(
                objects.invoice_line(
                    self.new_id("il_"),
                    invoice_id=invoice_id,
                    price=spec.price,
                    quantity=spec.quantity,
                    amount=int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP)),
                    product_name=self._product_names.get(spec.price["id"], ""),
                    period=spec.period,
                    subscription_id=subscribed["id"],
                    subscription_item=spec.item_id,
                    invoice_item=None if spec.item_id else self.new_id("ii_"),
                    # Subscription lines show the subscription's metadata.
                    metadata=subscribed["metadata"] if spec.item_id else None,
                )
            )
        count = self._invoices_per_customer[billed["id"]] = (
            self._invoices_per_customer.get(billed["id"], 0) + 1
        )
        paid = objects.invoice(
            invoice_id,
            number=f"{billed['invoice_prefix']}-{count:04d}",
            subscribed=subscribed,
            billed=billed,
            billing_reason=reason,
            lines=lines,
            period=period,
            now=now,
            hosted_url=f"{self.base_url}/invoices/{invoice_id}",
        )
        method = self.payment_methods[subscribed["default_payment_method"]]
        intent = objects.payment_intent(
            self.new_id("pi_"),
            amount=paid["amount_due"],
            currency=paid["currency"],
            now=now,
            status="succeeded",
            payment_method=method["id"],
            payment_method_type=method["type"],
            description=_INTENT_DESCRIPTIONS[reason],
            customer=billed["id"],
        )
        self.payment_intents[intent["id"]] = intent
        details = method["billing_details"]
        self._settle(intent, settlement, details["email"], details["name"])
        payment = objects.invoice_payment(self.new_id("inpay_"), paid, intent["id"], now)
        self.invoices[invoice_id] = paid
        self.invoice_payments[payment["id"]] = payment
        subscribed["latest_invoice"] = invoice_id
        return paid, payment

    def _complete(self, session: JSONDict, payment_status: str, email: str, name: str) -> None:
        session.update(
            status="complete",
            payment_status=payment_status,
            url=None,
            customer_details={
                "address": objects.donor_address(),
                "email": session["customer_email"] or email,
                "name": name,
                "phone": None,
                "tax_exempt": "none",
                "tax_ids": [],
            },
        )

    def expire_session(
        self,
        session: JSONDict,
        *,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> JSONDict:
        """Expire ``session`` (open); returns ``checkout.session.expired``.

        ``request_id``/``idempotency_key`` name the API request that asked for it, if any.
        """
        session.update(status="expired", url=None)
        return self._emit(
            "checkout.session.expired",
            session,
            request_id=request_id,
            idempotency_key=idempotency_key,
        )

    def end_subscription(
        self,
        subscribed: JSONDict,
        *,
        comment: str | None = None,
        feedback: str | None = None,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> JSONDict:
        """Cancel ``subscribed`` (not canceled) now; returns ``customer.subscription.deleted``.

        ``request_id``/``idempotency_key`` name the API request that asked for it, if any.
        """
        now = self.now
        subscribed.update(
            status="canceled",
            canceled_at=now,
            ended_at=now,
            cancellation_details={
                "comment": comment,
                "feedback": feedback,
                "reason": "cancellation_requested",
            },
        )
        return self._emit(
            "customer.subscription.deleted",
            subscribed,
            request_id=request_id,
            idempotency_key=idempotency_key,
        )

    def expire_due_sessions(self) -> list[JSONDict]:
        """Expire open sessions whose ``expires_at`` has passed; returns their events."""
        now = self.now
        due = [
            s for s in self.sessions.values() if s["status"] == "open" and s["expires_at"] <= now
        ]
        return [self.expire_session(session) for session in due]

    def _change_dispute(self, dispute_id: str, status: str, event_type: str) -> JSONDict:
        try:
            disputed = self.disputes[dispute_id]
        except KeyError:
            raise KeyError(f"no dispute {dispute_id!r}") from None
        if disputed["status"] in ("won", "lost"):
            raise ValueError(f"dispute {dispute_id} is already closed ({disputed['status']})")
        previous = {"status": disputed["status"]}
        disputed["status"] = status
        return self._emit(event_type, disputed, previous_attributes=previous)

    def _emit(
        self,
        event_type: str,
        obj: Mapping[str, Any],
        *,
        previous_attributes: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> JSONDict:
        created = objects.event(
            self.new_id("evt_"),
            event_type,
            obj,
            self.now,
            previous_attributes=previous_attributes,
            request_id=request_id,
            idempotency_key=idempotency_key,
        )
        self.events.append(created)
        self._events_by_id[created["id"]] = created
        return copy.deepcopy(created)

    def payments_of(self, invoice_id: str) -> list[JSONDict]:
        """An invoice's InvoicePayments, newest first (stored objects, not copies)."""
        found = [p for p in self.invoice_payments.values() if p["invoice"] == invoice_id]
        return sorted(reversed(found), key=lambda payment: -payment["created"])

    def session_params(self, session_id: str) -> JSONDict:
        """The validated (typed) parameters a session was created with."""
        return self._params_by_session.get(session_id, {})

    def resolve(self, ref: str) -> JSONDict | None:
        """The stored object an id refers to, or an includable list (``<field>:<owner id>``)."""
        if ref.startswith("line_items:"):
            session_id = ref.partition(":")[2]
            return objects.list_object(
                copy.deepcopy(self._line_items.get(session_id, [])),
                f"/v1/checkout/sessions/{session_id}/line_items",
            )
        if ref.startswith("payments:"):
            return objects.list_object(
                copy.deepcopy(self.payments_of(ref.partition(":")[2])),
                f"/v1/invoice_payments?invoice={ref.partition(':')[2]}",
            )
        for store in (
            self.sessions,
            self.payment_intents,
            self.charges,
            self.balance_transactions,
            self.disputes,
            self.refunds,
            self.payment_methods,
            self.customers,
            self.subscriptions,
            self.invoices,
            self.invoice_payments,
            self._events_by_id,
        ):
            if ref in store:
                return store[ref]
        return None

    def visible_events(self) -> list[JSONDict]:
        """Events within the retention window, newest first."""
        oldest = self.now - EVENT_RETENTION_SECONDS
        visible = [event for event in reversed(self.events) if event["created"] >= oldest]
        return sorted(visible, key=lambda event: -event["created"])
