"""Donation intents, payments, monthly gifts, refunds, disputes and applied Stripe events.

Stripe delivers events at least once and in any order. `apply_event` records the event id and
its changes in one transaction, so a redelivered event changes nothing, and every change is
written to be order-independent: a payment's status only moves forward
(pending → expired/failed → paid), refunds keep the largest cumulative amount seen, and a
dispute's or a monthly gift's final state is never replaced by an earlier one.
"""

import time
from dataclasses import dataclass

import aiosqlite

from tgbot.storage.database import Database


@dataclass(frozen=True, slots=True)
class Intent:
    intent_id: str
    user_id: int | None
    language: str
    amount: int
    currency: str
    monthly: bool
    session_id: str | None
    url: str | None
    expires_at: int | None


_INTENT_COLUMNS = (
    "i.intent_id, i.user_id, i.language, i.amount, i.currency, i.monthly, i.session_id,"
    " i.url, i.expires_at"
)


def _intent(row: aiosqlite.Row) -> Intent:
    values = dict(row)
    return Intent(**(values | {"monthly": bool(values["monthly"])}))


@dataclass(frozen=True, slots=True)
class PaymentChange:
    """A payment's new state: a one-time Checkout Session, or a monthly gift's invoice."""

    donation_id: str
    intent_id: str
    payment_intent_id: str | None
    amount: int
    currency: str
    status: str
    subscription_id: str | None = None
    thank: bool = True
    """Whether becoming paid earns a thank-you (not for a monthly gift's later invoices)."""


@dataclass(frozen=True, slots=True)
class SubscriptionChange:
    subscription_id: str
    intent_id: str
    status: str


@dataclass(frozen=True, slots=True)
class RefundChange:
    payment_intent_id: str
    charge_id: str
    amount_refunded: int | None
    """What the charge has refunded now, as Stripe says; None until it has been asked."""


@dataclass(frozen=True, slots=True)
class DisputeChange:
    dispute_id: str
    payment_intent_id: str
    amount: int
    status: str


Change = PaymentChange | SubscriptionChange | RefundChange | DisputeChange


@dataclass(frozen=True, slots=True)
class Thanks:
    """A payment whose donor is owed a thank-you."""

    donation_id: str
    user_id: int
    language: str
    amount: int
    currency: str
    monthly: bool
    settled_amount: int | None
    settled_currency: str | None


@dataclass(frozen=True, slots=True)
class MonthlyGift:
    subscription_id: str
    ref: str
    """A random local reference for buttons: Stripe never sees it."""
    amount: int
    currency: str
    created_at: int


@dataclass(frozen=True, slots=True)
class TotalsRow:
    """Paid donations grouped by currency and the currency Stripe settled them in."""

    currency: str
    settled_currency: str | None
    donations: int
    """Those not returned in full."""
    gross: int
    returned: int
    settled_kept: int
    fees: int


@dataclass(frozen=True, slots=True)
class ExportRow:
    created_at: int
    paid_at: int | None
    amount: int
    currency: str
    status: str
    monthly: bool
    returned: int
    donation_id: str
    payment_intent_id: str | None


def _now() -> int:
    return int(time.time())


class DonationStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    # -- intents -----------------------------------------------------------------------------

    async def intents_since(self, user_id: int, since: int) -> int:
        row = await self._db.fetch_one(
            "SELECT count(*) FROM donation_intents WHERE user_id = ? AND created_at >= ?",
            (user_id, since),
        )
        return row[0]

    async def open_intent(
        self, user_id: int, amount: int, currency: str, monthly: bool, valid_until: int
    ) -> Intent | None:
        """The user's unpaid link for this gift that stays open until `valid_until`, if any."""
        row = await self._db.fetch_one(
            f"SELECT {_INTENT_COLUMNS} FROM donation_intents i"  # noqa: S608 (constant)
            " WHERE i.user_id = ? AND i.amount = ? AND i.currency = ? AND i.monthly = ?"
            " AND i.url IS NOT NULL AND i.expires_at > ?"
            " AND NOT EXISTS (SELECT 1 FROM donations d WHERE d.intent_id = i.intent_id)"
            " AND NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.intent_id = i.intent_id)"
            " ORDER BY i.created_at DESC LIMIT 1",
            (user_id, amount, currency, int(monthly), valid_until),
        )
        return _intent(row) if row else None

    async def create_intent(
        self,
        intent_id: str,
        user_id: int,
        language: str,
        amount: int,
        currency: str,
        monthly: bool = False,
    ) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO donation_intents"
                " (intent_id, user_id, language, amount, currency, monthly, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (intent_id, user_id, language, amount, currency, int(monthly), _now()),
            )

    async def attach_session(
        self, intent_id: str, session_id: str, url: str, expires_at: int
    ) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE donation_intents SET session_id = ?, url = ?, expires_at = ?"
                " WHERE intent_id = ?",
                (session_id, url, expires_at, intent_id),
            )

    async def intent(self, intent_id: str) -> Intent | None:
        row = await self._db.fetch_one(
            f"SELECT {_INTENT_COLUMNS} FROM donation_intents i"  # noqa: S608 (constant)
            " WHERE i.intent_id = ?",
            (intent_id,),
        )
        return _intent(row) if row else None

    # -- events ------------------------------------------------------------------------------

    async def apply_event(
        self, event_id: str, event_type: str, created: int, changes: list[Change]
    ) -> bool | None:
        """Apply an event's changes once.

        Returns None when the event was applied before, else whether a donor is now owed a
        thank-you.
        """
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO stripe_events (event_id, type, created, processed_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING",
                (event_id, event_type, created, _now()),
            )
            if cursor.rowcount == 0:
                return None
            thanks_due = False
            for change in changes:
                if isinstance(change, PaymentChange):
                    thanks_due |= await self._apply_payment(conn, change)
                elif isinstance(change, SubscriptionChange):
                    await self._apply_subscription(conn, change)
                elif isinstance(change, RefundChange):
                    await self._apply_refund(conn, change)
                else:
                    await self._apply_dispute(conn, change)
            return thanks_due

    @staticmethod
    async def _donor(conn: aiosqlite.Connection, intent_id: str) -> tuple[int | None] | None:
        """The intent's user id as a 1-tuple, or None when this bot did not create it."""
        async with conn.execute(
            "SELECT user_id FROM donation_intents WHERE intent_id = ?", (intent_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return (row[0],) if row else None

    async def _apply_payment(self, conn: aiosqlite.Connection, change: PaymentChange) -> bool:
        donor = await self._donor(conn, change.intent_id)
        if donor is None:
            return False  # a payment this bot did not ask for: not part of the appeal's totals
        async with conn.execute(
            "SELECT status FROM donations WHERE donation_id = ?", (change.donation_id,)
        ) as cursor:
            before = await cursor.fetchone()
        newly_paid = change.status == "paid" and (before is None or before[0] != "paid")
        thanks = "due" if newly_paid and change.thank and donor[0] is not None else "none"
        now = _now()
        await conn.execute(
            "INSERT INTO donations (donation_id, intent_id, subscription_id, payment_intent_id,"
            " amount, currency, status, thanks, created_at, paid_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (donation_id) DO UPDATE SET"
            " payment_intent_id = COALESCE(donations.payment_intent_id,"
            " excluded.payment_intent_id),"
            # status only moves forward: pending, then expired or failed, then paid
            " status = CASE WHEN donations.status = 'paid' THEN 'paid'"
            " WHEN excluded.status = 'pending' THEN donations.status"
            " ELSE excluded.status END,"
            " paid_at = COALESCE(donations.paid_at, excluded.paid_at),"
            " thanks = CASE WHEN excluded.thanks = 'due' THEN 'due' ELSE donations.thanks END,"
            " updated_at = excluded.updated_at",
            (
                change.donation_id,
                change.intent_id,
                change.subscription_id,
                change.payment_intent_id,
                change.amount,
                change.currency,
                change.status,
                thanks,
                now,
                now if change.status == "paid" else None,
                now,
            ),
        )
        return thanks == "due"

    async def _apply_subscription(
        self, conn: aiosqlite.Connection, change: SubscriptionChange
    ) -> None:
        if await self._donor(conn, change.intent_id) is None:
            return
        now = _now()
        canceled_at = now if change.status == "canceled" else None
        await conn.execute(
            "INSERT INTO subscriptions (subscription_id, intent_id, status, created_at,"
            " canceled_at, ref) VALUES (?, ?, ?, ?, ?, lower(hex(randomblob(8))))"
            " ON CONFLICT (subscription_id) DO UPDATE SET"
            # a canceled monthly gift stays canceled, whatever arrives after it
            " status = CASE WHEN subscriptions.status = 'canceled' THEN 'canceled'"
            " ELSE excluded.status END,"
            " canceled_at = COALESCE(subscriptions.canceled_at, excluded.canceled_at)",
            (change.subscription_id, change.intent_id, change.status, now, canceled_at),
        )

    async def _apply_refund(self, conn: aiosqlite.Connection, change: RefundChange) -> None:
        await conn.execute(
            "INSERT INTO refunds (payment_intent_id, charge_id, amount_refunded, updated_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (payment_intent_id) DO UPDATE SET"
            " amount_refunded = excluded.amount_refunded,"  # fetched from the charge just now
            " updated_at = excluded.updated_at",
            (change.payment_intent_id, change.charge_id, change.amount_refunded, _now()),
        )

    async def _apply_dispute(self, conn: aiosqlite.Connection, change: DisputeChange) -> None:
        await conn.execute(
            "INSERT INTO disputes (dispute_id, payment_intent_id, amount, status, updated_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (dispute_id) DO UPDATE SET"
            # a closed dispute's outcome is final, whatever arrives after it
            " status = CASE WHEN disputes.status IN ('won', 'lost', 'warning_closed')"
            " THEN disputes.status ELSE excluded.status END,"
            " amount = excluded.amount, updated_at = excluded.updated_at",
            (change.dispute_id, change.payment_intent_id, change.amount, change.status, _now()),
        )

    # -- thanks ------------------------------------------------------------------------------

    async def claim_thanks(self) -> list[Thanks]:
        """Payments owed a thank-you, marked as being sent so that nobody sends them twice.

        A crash after this leaves them 'sending': at most one thank-you, never two.
        """
        async with self._db.transaction() as conn:
            async with conn.execute(
                "UPDATE donations SET thanks = 'sending' WHERE thanks = 'due'"
                " RETURNING donation_id, intent_id, amount, currency,"
                " settled_amount, settled_currency"
            ) as cursor:
                claimed = [dict(row) for row in await cursor.fetchall()]
            owed = []
            for payment in claimed:
                async with conn.execute(
                    "SELECT user_id, language, monthly FROM donation_intents"
                    " WHERE intent_id = ? AND user_id IS NOT NULL",
                    (payment.pop("intent_id"),),
                ) as cursor:
                    donor = await cursor.fetchone()
                if donor is not None:
                    owed.append(Thanks(**payment, **(dict(donor) | {"monthly": bool(donor[2])})))
        return owed

    async def mark_thanked(self, donation_id: str) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE donations SET thanks = 'sent' WHERE donation_id = ?", (donation_id,)
            )

    async def thanks_due_again(self, donation_id: str) -> None:
        """A thank-you Telegram surely did not deliver (a 5xx): the next run sends it."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE donations SET thanks = 'due' WHERE donation_id = ? AND thanks = 'sending'",
                (donation_id,),
            )

    # -- settlement --------------------------------------------------------------------------

    async def unsettled(self, limit: int) -> list[tuple[str, str | None]]:
        """Paid donations whose settled amount is not known yet, with their payment intent
        when known (a monthly gift's invoice event does not name it)."""
        rows = await self._db.fetch_all(
            "SELECT donation_id, payment_intent_id FROM donations"
            " WHERE status = 'paid' AND settled_amount IS NULL ORDER BY paid_at LIMIT ?",
            (limit,),
        )
        return [(row[0], row[1]) for row in rows]

    async def set_payment_intent(self, donation_id: str, payment_intent_id: str) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE donations SET payment_intent_id = ?, updated_at = ?"
                " WHERE donation_id = ? AND payment_intent_id IS NULL",
                (payment_intent_id, _now(), donation_id),
            )

    async def set_settlement(self, donation_id: str, amount: int, currency: str, fee: int) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE donations SET settled_amount = ?, settled_currency = ?, fee = ?,"
                " updated_at = ? WHERE donation_id = ?",
                (amount, currency, fee, _now(), donation_id),
            )

    # -- monthly gifts -----------------------------------------------------------------------

    async def monthly_gifts(self, user_id: int) -> list[MonthlyGift]:
        """The user's active monthly gifts, oldest first."""
        rows = await self._db.fetch_all(
            "SELECT s.subscription_id, s.ref, i.amount, i.currency, s.created_at"
            " FROM subscriptions s JOIN donation_intents i USING (intent_id)"
            " WHERE i.user_id = ? AND s.status = 'active' ORDER BY s.created_at",
            (user_id,),
        )
        return [MonthlyGift(**dict(row)) for row in rows]

    async def one_time_gifts(self, user_id: int) -> int:
        row = await self._db.fetch_one(
            "SELECT count(*) FROM donations d JOIN donation_intents i USING (intent_id)"
            " WHERE i.user_id = ? AND i.monthly = 0 AND d.status = 'paid'",
            (user_id,),
        )
        return row[0]

    async def mark_canceled(self, subscription_id: str) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE subscriptions SET status = 'canceled', canceled_at = ?"
                " WHERE subscription_id = ? AND status = 'active'",
                (_now(), subscription_id),
            )

    # -- reporting ---------------------------------------------------------------------------

    async def totals(self, paid_since: int = 0) -> list[TotalsRow]:
        rows = await self._db.fetch_all(
            # a gift refunded or disputed in full is no longer one of the donations counted
            "SELECT currency, settled_currency, SUM(returned < amount) AS donations,"
            " SUM(amount) AS gross,"
            " SUM(returned) AS returned,"
            " SUM(COALESCE(settled_amount * (amount - returned) / amount, 0)) AS settled_kept,"
            " SUM(COALESCE(fee, 0)) AS fees"
            " FROM donation_balances WHERE status = 'paid' AND paid_at >= ?"
            " GROUP BY currency, settled_currency ORDER BY currency, settled_currency",
            (paid_since,),
        )
        return [TotalsRow(**dict(row)) for row in rows]

    async def export(self) -> list[ExportRow]:
        rows = await self._db.fetch_all(
            "SELECT b.created_at, b.paid_at, b.amount, b.currency, b.status, i.monthly,"
            " b.returned, b.donation_id, b.payment_intent_id"
            " FROM donation_balances b JOIN donation_intents i USING (intent_id)"
            " ORDER BY b.created_at, b.donation_id"
        )
        return [ExportRow(**(dict(row) | {"monthly": bool(row["monthly"])})) for row in rows]

    # -- events that could not be read ------------------------------------------------------

    async def event_failed(self, event_id: str, kind: str) -> int:
        """Count one more failed try at an event; returns its tries so far."""
        now = _now()
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO failed_events (event_id, type, attempts, first_failed_at,"
                " last_failed_at) VALUES (?, ?, 1, ?, ?) ON CONFLICT (event_id) DO UPDATE SET"
                " attempts = attempts + 1, last_failed_at = excluded.last_failed_at"
                " RETURNING attempts",
                (event_id, kind, now, now),
            )
            (attempts,) = await cursor.fetchone()
        return attempts

    async def events_to_retry(self, max_attempts: int) -> list[str]:
        rows = await self._db.fetch_all(
            "SELECT event_id FROM failed_events WHERE attempts < ? ORDER BY first_failed_at",
            (max_attempts,),
        )
        return [row["event_id"] for row in rows]

    async def event_recovered(self, event_id: str) -> None:
        async with self._db.transaction() as conn:
            await conn.execute("DELETE FROM failed_events WHERE event_id = ?", (event_id,))

    async def claim_poison_report(self, max_attempts: int) -> list[tuple[str, str]]:
        """Events that failed `max_attempts` times and nobody was told of yet, marked told."""
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE failed_events SET reported = 1 WHERE reported = 0 AND attempts >= ?"
                " RETURNING event_id, type",
                (max_attempts,),
            )
            return [(row[0], row[1]) for row in await cursor.fetchall()]

    # -- checkpoints and privacy -------------------------------------------------------------

    async def checkpoint(self, name: str) -> int | None:
        row = await self._db.fetch_one("SELECT value FROM checkpoints WHERE name = ?", (name,))
        return row[0] if row else None

    async def set_checkpoint(self, name: str, value: int) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO checkpoints (name, value) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (name, value),
            )

    @staticmethod
    async def forget(conn: aiosqlite.Connection, user_id: int) -> bool:
        """Cut the link between a person and their donations; the amounts stay counted."""
        cursor = await conn.execute(
            "UPDATE donation_intents SET user_id = NULL WHERE user_id = ?", (user_id,)
        )
        return cursor.rowcount > 0
