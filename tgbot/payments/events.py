"""Turning Stripe events into the storage changes they imply.

Only payments this bot asked for count: a Checkout Session's `client_reference_id`, or a
monthly gift's subscription metadata, holds one of our random intent ids. Everything else in
the account's event stream is acknowledged and ignored.

Refunds are read from the charge itself (`RefundChange.amount_refunded` None: to be fetched)
on every refund or dispute event: events arrive out of order, and a refund can fail later.

A one-time gift is counted from its Checkout Session. A monthly gift is counted from each paid
invoice instead; its Checkout Session only records that the gift started, so the first month
is never counted twice.
"""

from typing import Any

from tgbot.storage.donations import (
    Change,
    DisputeChange,
    PaymentChange,
    RefundChange,
    SubscriptionChange,
)

SESSION_STATUSES = {
    "checkout.session.completed": None,  # paid or pending, by payment_status
    "checkout.session.async_payment_succeeded": "paid",
    "checkout.session.async_payment_failed": "failed",
    "checkout.session.expired": "expired",
}
DISPUTE_EVENTS = ("charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed")
REFUND_EVENTS = ("charge.refunded", "charge.refund.updated")
SUBSCRIPTION_ENDED = "customer.subscription.deleted"
INVOICE_PAID = "invoice.paid"
HANDLED_EVENTS = (
    *SESSION_STATUSES,
    INVOICE_PAID,
    SUBSCRIPTION_ENDED,
    *REFUND_EVENTS,
    *DISPUTE_EVENTS,
)


class MalformedEvent(ValueError):
    """A verified event without the fields its type must have."""


def _id(value: Any) -> str | None:
    """An id from a field that holds either the id or the expanded object."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else None


def _intent(metadata: Any) -> str | None:
    intent = metadata.get("intent") if isinstance(metadata, dict) else None
    return intent if isinstance(intent, str) else None


def changes_from(event: dict[str, Any]) -> list[Change]:
    """The changes an event implies; empty for events that do not concern the appeal."""
    try:
        kind, data = event["type"], event["data"]["object"]
        if kind in SESSION_STATUSES:
            return _session_changes(kind, data)
        if kind == INVOICE_PAID:
            return _invoice_changes(data)
        if kind == SUBSCRIPTION_ENDED and (intent := _intent(data.get("metadata"))):
            return [SubscriptionChange(data["id"], intent, "canceled")]
        if kind == "charge.refunded" and (payment := _id(data.get("payment_intent"))):
            return [RefundChange(payment, data["id"], int(data["amount_refunded"]))]
        if kind == "charge.refund.updated" and (payment := _id(data.get("payment_intent"))):
            return [RefundChange(payment, str(_id(data["charge"])), None)]
        if kind in DISPUTE_EVENTS and (payment := _id(data.get("payment_intent"))):
            dispute = DisputeChange(data["id"], payment, int(data["amount"]), str(data["status"]))
            return [dispute, RefundChange(payment, str(_id(data["charge"])), None)]
    except (KeyError, TypeError, ValueError) as error:
        raise MalformedEvent(f"{type(error).__name__} in a {event.get('type')!r} event") from None
    return []


def _session_changes(kind: str, session: dict[str, Any]) -> list[Change]:
    intent_id = session.get("client_reference_id")
    if not isinstance(intent_id, str):
        return []
    if session.get("mode") == "subscription":
        subscription = _id(session.get("subscription"))
        if kind != "checkout.session.completed" or subscription is None:
            return []
        return [SubscriptionChange(subscription, intent_id, "active")]
    if session.get("mode") != "payment":
        return []
    status = SESSION_STATUSES[kind]
    if status is None:
        status = "paid" if session["payment_status"] == "paid" else "pending"
    return [
        PaymentChange(
            donation_id=session["id"],
            intent_id=intent_id,
            payment_intent_id=_id(session.get("payment_intent")),
            amount=int(session["amount_total"]),
            currency=str(session["currency"]),
            status=status,
        )
    ]


def _invoice_changes(invoice: dict[str, Any]) -> list[Change]:
    """A monthly gift's paid invoice, in the shape of API versions from 2025-03-31 (under
    `parent.subscription_details`) or before (`subscription`, `subscription_details` at the
    top): an event keeps the version it was created with."""
    details = (invoice.get("parent") or {}).get("subscription_details")
    if details is None:  # the older shape
        details = {**(invoice.get("subscription_details") or {})}
        details.setdefault("subscription", invoice.get("subscription"))
    intent_id = _intent(details.get("metadata"))
    subscription = _id(details.get("subscription"))
    if intent_id is None or subscription is None or not invoice["amount_paid"]:
        return []
    return [
        SubscriptionChange(subscription, intent_id, "active"),
        PaymentChange(
            donation_id=invoice["id"],
            intent_id=intent_id,
            payment_intent_id=None,  # not in the event; looked up with the settlement
            amount=int(invoice["amount_paid"]),
            currency=str(invoice["currency"]),
            status="paid",
            subscription_id=subscription,
            thank=invoice.get("billing_reason") == "subscription_create",
        ),
    ]
