"""Every column of the schema, and what /privacy tells people about it.

A column that can be tied to a supporter names the bullet of the privacy text (`privacy.*` in
locales/) that describes it; every other column says why it is about no supporter. A test
fails on any column missing here, so a new column cannot be added without deciding what
people are told about it.
"""

ABOUT_ADMINS = "admins"
"""Admins' own ids, kept for accountability; README's privacy section describes them."""

ABOUT_A_PERSON: dict[str, dict[str, str]] = {
    "users": {
        "user_id": "privacy.id",
        "language": "privacy.choices",
        "language_chosen": "privacy.choices",
        "subscribed_at": "privacy.choices",
        "discreet": "privacy.choices",
        "blocked_at": "privacy.choices",
        "created_at": "privacy.times",
        "updated_at": "privacy.times",
    },
    "deliveries": {
        "broadcast_id": "privacy.delivery",
        "user_id": "privacy.delivery",
        "language": "privacy.delivery",
        "status": "privacy.delivery",
        "error": "privacy.delivery",
    },
    # A payment link and everything that follows from it, tied to a person through
    # donation_intents.user_id until /forget empties it.
    "donation_intents": {
        "intent_id": "privacy.payments",
        "user_id": "privacy.id",
        "language": "privacy.payments",
        "amount": "privacy.payments",
        "currency": "privacy.payments",
        "monthly": "privacy.payments",
        "session_id": "privacy.payments",
        "url": "privacy.payments",
        "expires_at": "privacy.times",
        "created_at": "privacy.times",
    },
    "donations": {
        "donation_id": "privacy.payments",
        "intent_id": "privacy.payments",
        "subscription_id": "privacy.payments",
        "payment_intent_id": "privacy.payments",
        "amount": "privacy.payments",
        "currency": "privacy.payments",
        "status": "privacy.payments",
        "settled_amount": "privacy.payments",
        "settled_currency": "privacy.payments",
        "fee": "privacy.payments",
        "thanks": "privacy.payments",
        "created_at": "privacy.times",
        "paid_at": "privacy.times",
        "updated_at": "privacy.times",
    },
    "subscriptions": {
        "subscription_id": "privacy.payments",
        "intent_id": "privacy.payments",
        "status": "privacy.payments",
        "ref": "privacy.payments",
        "created_at": "privacy.times",
        "canceled_at": "privacy.times",
    },
    "refunds": {
        "payment_intent_id": "privacy.payments",
        "charge_id": "privacy.payments",
        "amount_refunded": "privacy.payments",
        "updated_at": "privacy.times",
    },
    "disputes": {
        "dispute_id": "privacy.payments",
        "payment_intent_id": "privacy.payments",
        "amount": "privacy.payments",
        "status": "privacy.payments",
        "updated_at": "privacy.times",
    },
    "broadcasts": {"admin_id": ABOUT_ADMINS},
    "audit_log": {"admin_id": ABOUT_ADMINS},
}

ABOUT_NO_ONE: dict[str, tuple[str, ...]] = {
    # what an admin did, news posts and their delivery counts
    "audit_log": ("entry_id", "action", "target", "at"),
    "broadcasts": (
        "broadcast_id", "kind", "milestone", "amount", "currency", "photo", "status",
        "created_at", "started_at", "finished_at", "sent", "blocked", "failed", "cancelled",
        "failures", "resent", "reported",
    ),
    "broadcast_texts": ("broadcast_id", "language", "html"),
    "paused_broadcasts": ("broadcast_id", "paused_at"),
    # Stripe events applied or unreadable, and how far reconciliation has read
    "stripe_events": ("event_id", "type", "created", "processed_at"),
    "failed_events": (
        "event_id", "type", "attempts", "first_failed_at", "last_failed_at", "reported",
    ),
    "checkpoints": ("name", "value"),
    # counted per day and per reason, never per person
    "subscription_days": ("day", "joined", "left"),
    "unsubscribe_reasons": ("reason", "count"),
}  # fmt: skip
"""Columns no supporter can be found by, table by table."""


def described(table: str, column: str) -> str | None:
    """The privacy bullet (or `ABOUT_ADMINS`) for a column; None when it is about no one."""
    return ABOUT_A_PERSON.get(table, {}).get(column)


def registered(table: str, column: str) -> bool:
    return described(table, column) is not None or column in ABOUT_NO_ONE.get(table, ())
