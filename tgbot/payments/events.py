"""Turning Stripe events into the storage changes they imply.

Only sessions this bot created count: their `client_reference_id` is one of our random
intent ids. Everything else in the account's event stream is acknowledged and ignored.
"""

from typing import Any

from tgbot.storage.donations import Change, DisputeChange, RefundChange, SessionChange

SESSION_STATUSES = {
    "checkout.session.completed": None,  # paid or pending, by payment_status
    "checkout.session.async_payment_succeeded": "paid",
    "checkout.session.async_payment_failed": "failed",
    "checkout.session.expired": "expired",
}
DISPUTE_EVENTS = ("charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed")
HANDLED_EVENTS = (*SESSION_STATUSES, "charge.refunded", *DISPUTE_EVENTS)


class MalformedEvent(ValueError):
    """A verified event without the fields its type must have."""


def _id(value: Any) -> str | None:
    """An id from a field that holds either the id or the expanded object."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else None


def changes_from(event: dict[str, Any]) -> list[Change]:
    """The changes an event implies; empty for events that do not concern the appeal."""
    try:
        kind, data = event["type"], event["data"]["object"]
        if kind in SESSION_STATUSES:
            return _session_changes(kind, data)
        if kind == "charge.refunded" and (payment := _id(data.get("payment_intent"))):
            return [RefundChange(payment, data["id"], int(data["amount_refunded"]))]
        if kind in DISPUTE_EVENTS and (payment := _id(data.get("payment_intent"))):
            return [DisputeChange(data["id"], payment, int(data["amount"]), str(data["status"]))]
    except (KeyError, TypeError, ValueError) as error:
        raise MalformedEvent(f"{type(error).__name__} in a {event.get('type')!r} event") from None
    return []


def _session_changes(kind: str, session: dict[str, Any]) -> list[Change]:
    intent_id = session.get("client_reference_id")
    if session.get("mode") != "payment" or not isinstance(intent_id, str):
        return []
    status = SESSION_STATUSES[kind]
    if status is None:
        status = "paid" if session["payment_status"] == "paid" else "pending"
    return [
        SessionChange(
            session_id=session["id"],
            intent_id=intent_id,
            payment_intent_id=_id(session.get("payment_intent")),
            amount=int(session["amount_total"]),
            currency=str(session["currency"]),
            status=status,
        )
    ]
