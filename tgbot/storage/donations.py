"""Donation intents, donations, refunds, disputes and applied Stripe events.

Stripe delivers events at least once and in any order. `apply_event` records the event id and
its changes in one transaction, so a redelivered event changes nothing, and every change is
written to be order-independent: a donation's status only moves forward
(pending → expired/failed → paid), refunds keep the largest cumulative amount seen, and a
dispute's final status is never replaced by an earlier one.
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
    session_id: str | None
    url: str | None
    expires_at: int | None


@dataclass(frozen=True, slots=True)
class SessionChange:
    """A Checkout Session's new state, from a `checkout.session.*` event."""

    session_id: str
    intent_id: str
    payment_intent_id: str | None
    amount: int
    currency: str
    status: str


@dataclass(frozen=True, slots=True)
class RefundChange:
    payment_intent_id: str
    charge_id: str
    amount_refunded: int


@dataclass(frozen=True, slots=True)
class DisputeChange:
    dispute_id: str
    payment_intent_id: str
    amount: int
    status: str


Change = SessionChange | RefundChange | DisputeChange


@dataclass(frozen=True, slots=True)
class Thanks:
    """A donation whose donor is owed a thank-you."""

    session_id: str
    user_id: int
    language: str
    amount: int
    currency: str
    settled_amount: int | None
    settled_currency: str | None


@dataclass(frozen=True, slots=True)
class TotalsRow:
    """Paid donations grouped by currency and the currency Stripe settled them in."""

    currency: str
    settled_currency: str | None
    donations: int
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
    returned: int
    session_id: str
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
        self, user_id: int, amount: int, currency: str, valid_until: int
    ) -> Intent | None:
        """The user's session for this amount that is still open at `valid_until`, if any."""
        row = await self._db.fetch_one(
            "SELECT i.intent_id, i.user_id, i.language, i.amount, i.currency, i.session_id,"
            " i.url, i.expires_at FROM donation_intents i"
            " LEFT JOIN donations d ON d.session_id = i.session_id"
            " WHERE i.user_id = ? AND i.amount = ? AND i.currency = ?"
            " AND i.url IS NOT NULL AND i.expires_at > ? AND d.session_id IS NULL"
            " ORDER BY i.created_at DESC LIMIT 1",
            (user_id, amount, currency, valid_until),
        )
        return Intent(**dict(row)) if row else None

    async def create_intent(
        self, intent_id: str, user_id: int, language: str, amount: int, currency: str
    ) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO donation_intents"
                " (intent_id, user_id, language, amount, currency, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (intent_id, user_id, language, amount, currency, _now()),
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
            "SELECT intent_id, user_id, language, amount, currency, session_id, url, expires_at"
            " FROM donation_intents WHERE intent_id = ?",
            (intent_id,),
        )
        return Intent(**dict(row)) if row else None

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
                if isinstance(change, SessionChange):
                    thanks_due |= await self._apply_session(conn, change)
                elif isinstance(change, RefundChange):
                    await self._apply_refund(conn, change)
                else:
                    await self._apply_dispute(conn, change)
            return thanks_due

    async def _apply_session(self, conn: aiosqlite.Connection, change: SessionChange) -> bool:
        async with conn.execute(
            "SELECT user_id FROM donation_intents WHERE intent_id = ?", (change.intent_id,)
        ) as cursor:
            intent = await cursor.fetchone()
        if intent is None:
            return False  # a session this bot did not create: not part of the appeal's totals
        async with conn.execute(
            "SELECT status FROM donations WHERE session_id = ?", (change.session_id,)
        ) as cursor:
            before = await cursor.fetchone()
        newly_paid = change.status == "paid" and (before is None or before[0] != "paid")
        thanks = "due" if newly_paid and intent[0] is not None else "none"
        now = _now()
        await conn.execute(
            "INSERT INTO donations (session_id, intent_id, payment_intent_id, amount, currency,"
            " status, thanks, created_at, paid_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (session_id) DO UPDATE SET"
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
                change.session_id,
                change.intent_id,
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

    async def _apply_refund(self, conn: aiosqlite.Connection, change: RefundChange) -> None:
        await conn.execute(
            "INSERT INTO refunds (payment_intent_id, charge_id, amount_refunded, updated_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (payment_intent_id) DO UPDATE SET"
            " amount_refunded = MAX(refunds.amount_refunded, excluded.amount_refunded),"
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
        """Donations owed a thank-you, marked as being sent so that nobody sends them twice.

        A crash after this leaves them 'sending': at most one thank-you, never two.
        """
        async with self._db.transaction() as conn:
            rows = []
            async with conn.execute(
                "UPDATE donations SET thanks = 'sending' WHERE thanks = 'due'"
                " RETURNING session_id, intent_id, amount, currency,"
                " settled_amount, settled_currency"
            ) as cursor:
                claimed = [dict(row) for row in await cursor.fetchall()]
            for donation in claimed:
                async with conn.execute(
                    "SELECT user_id, language FROM donation_intents"
                    " WHERE intent_id = ? AND user_id IS NOT NULL",
                    (donation.pop("intent_id"),),
                ) as cursor:
                    donor = await cursor.fetchone()
                if donor is not None:
                    rows.append(Thanks(**donation, **dict(donor)))
        return rows

    async def mark_thanked(self, session_id: str) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE donations SET thanks = 'sent' WHERE session_id = ?", (session_id,)
            )

    # -- settlement --------------------------------------------------------------------------

    async def unsettled(self, limit: int) -> list[str]:
        """Paid donations whose settled amount Stripe had not reported yet."""
        rows = await self._db.fetch_all(
            "SELECT session_id FROM donations WHERE status = 'paid' AND settled_amount IS NULL"
            " ORDER BY paid_at LIMIT ?",
            (limit,),
        )
        return [row[0] for row in rows]

    async def set_settlement(self, session_id: str, amount: int, currency: str, fee: int) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE donations SET settled_amount = ?, settled_currency = ?, fee = ?,"
                " updated_at = ? WHERE session_id = ?",
                (amount, currency, fee, _now(), session_id),
            )

    # -- reporting ---------------------------------------------------------------------------

    async def totals(self, paid_since: int = 0) -> list[TotalsRow]:
        rows = await self._db.fetch_all(
            "SELECT currency, settled_currency, count(*) AS donations, SUM(amount) AS gross,"
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
            "SELECT created_at, paid_at, amount, currency, status, returned, session_id,"
            " payment_intent_id FROM donation_balances ORDER BY created_at"
        )
        return [ExportRow(**dict(row)) for row in rows]

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
