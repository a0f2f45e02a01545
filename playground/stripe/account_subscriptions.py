"""Subscriptions of the simulated Stripe account: monthly giving, renewals, cancellation.

Monthly giving is modelled as Stripe Billing does it for a ``subscription``-mode Checkout
Session: paying it creates a Customer, a Subscription and a paid first Invoice (with an
InvoicePayment pointing at the PaymentIntent, whose Charge and BalanceTransaction are made as
for one-time payments); :meth:`~SubscriptionActions.renew` bills the next period and
:meth:`~SubscriptionActions.cancel_subscription` ends it.

:class:`SubscriptionActions` builds on :class:`~playground.stripe.account_payments.PaymentActions`:
the invoices are paid by the saved card, settled as one-time payments are.

Simplifications are noted where they happen (search for "Simplification").
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from playground.stripe import payment_objects, subscription_objects
from playground.stripe.account_payments import PaymentActions, Settlement
from playground.stripe.params import JSONDict

__all__ = ["SubscriptionActions"]

#: Descriptions Stripe gives the PaymentIntents of subscription invoices.
_INTENT_DESCRIPTIONS = {
    "subscription_create": "Subscription creation",
    "subscription_cycle": "Subscription update",
}


@dataclass(frozen=True)
class _LineSpec:
    """What one invoice line bills: a subscription item's period, or a one-time price."""

    price: JSONDict
    quantity: int
    period: tuple[int, int]
    item_id: str | None = None


class SubscriptionActions(PaymentActions):
    """The account's test-side subscription actions; see the module docstring."""

    # -- test side: subscriptions ------------------------------------------------------------

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
        settlement = Settlement(settle_currency, exchange_rate, fee_rate, fee_fixed)
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
        settlement = Settlement(settle_currency, exchange_rate, fee_rate, fee_fixed)
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
        end = subscription_objects.add_interval(
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

    # -- state changes -----------------------------------------------------------------------

    def _subscription(self, subscription_id: str) -> JSONDict:
        try:
            return self.subscriptions[subscription_id]
        except KeyError:
            raise KeyError(f"no subscription {subscription_id!r}") from None

    def _pay_subscription(
        self, session: JSONDict, settlement: Settlement, email: str, name: str
    ) -> dict[str, JSONDict]:
        settlement.check(session["currency"])
        now = self.now
        email = session["customer_email"] or email
        created = payment_objects.customer(self.new_id("cus_", 14), email, name, now)
        self.customers[created["id"]] = created
        method = self._new_payment_method("card", email, name)
        method["customer"] = created["id"]
        checkout_items = self._line_items[session["id"]]
        for item in checkout_items:
            self._product_names[item["price"]["id"]] = item["description"]
        recurring = [item for item in checkout_items if item["price"]["recurring"]]
        period = recurring[0]["price"]["recurring"]
        end = subscription_objects.add_interval(now, period["interval"], period["interval_count"])
        data = self.session_params(session["id"]).get("subscription_data", {})
        subscribed = subscription_objects.subscription(
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
        settlement: Settlement,
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
                subscription_objects.invoice_line(
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
        paid = subscription_objects.invoice(
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
        intent = payment_objects.payment_intent(
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
        payment = subscription_objects.invoice_payment(
            self.new_id("inpay_"), paid, intent["id"], now
        )
        self.invoices[invoice_id] = paid
        self.invoice_payments[payment["id"]] = payment
        subscribed["latest_invoice"] = invoice_id
        return paid, payment
