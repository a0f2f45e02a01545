"""News posts and milestone updates, and their delivery to each subscriber.

Confirming a broadcast copies its audience into `deliveries` in one statement: a subscriber
who joins later is not added, and one who leaves has their pending rows cancelled. Each row
goes pending -> sending -> sent | blocked | failed; the 'sending' step is written before the
message goes to Telegram, so after a crash the rows left in it are exactly the messages that
may have arrived. When a broadcast ends, its counts move into the
`broadcasts` row and the delivery rows, which link people to posts, are deleted.
"""

import json
import time
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum

import aiosqlite

from tgbot.storage.backup import RESTORED_MARK
from tgbot.storage.database import Database


class Status(StrEnum):
    DRAFT = "draft"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class Outcome(StrEnum):
    """How one delivery ended."""

    SENT = "sent"
    BLOCKED = "blocked"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Broadcast:
    broadcast_id: int
    kind: str
    admin_id: int | None
    milestone: int | None
    amount: int | None
    """The total a milestone announces, in minor units of `currency`."""
    currency: str | None
    photo: str | None
    texts: dict[str, str]
    """Telegram HTML by language; none for a milestone, whose text is the bot's own."""
    status: Status


@dataclass(frozen=True, slots=True)
class Delivery:
    user_id: int
    language: str
    discreet: bool
    """The subscriber wants news silent, behind a neutral first line (read when paged)."""


@dataclass(frozen=True, slots=True)
class Counts:
    pending: int = 0
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    cancelled: int = 0

    @property
    def total(self) -> int:
        return self.pending + self.sent + self.blocked + self.failed + self.cancelled


@dataclass(frozen=True, slots=True)
class Summary:
    """A broadcast as /broadcasts and the end-of-broadcast report show it."""

    broadcast_id: int
    kind: str
    admin_id: int | None
    milestone: int | None
    status: Status
    created_at: int
    started_at: int | None
    finished_at: int | None
    counts: Counts
    failures: dict[str, int]
    """Telegram's error descriptions for failed deliveries, counted."""
    resent: int
    """Deliveries in flight during a crash, sent again: each may have arrived twice."""


class ConfirmProblem(StrEnum):
    GONE = "gone"
    """No such draft: cancelled, or already sent."""
    NO_DEFAULT_TEXT = "no_default_text"


def _now() -> int:
    return int(time.time())


_AUDIENCE = "FROM users WHERE subscribed_at IS NOT NULL AND blocked_at IS NULL"


class BroadcastStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    # -- drafts ------------------------------------------------------------------------------

    async def draft(self, admin_id: int) -> Broadcast | None:
        """The admin's open draft, if any."""
        row = await self._db.fetch_one(
            "SELECT * FROM broadcasts WHERE admin_id = ? AND status = 'draft'", (admin_id,)
        )
        return None if row is None else await self._broadcast(row)

    async def start_draft(self, admin_id: int) -> int:
        """A new empty draft; the admin's earlier draft, if any, is discarded."""
        async with self._db.transaction() as conn:
            await self._delete_draft(conn, admin_id)
            cursor = await conn.execute(
                "INSERT INTO broadcasts (kind, admin_id, status, created_at)"
                " VALUES ('post', ?, 'draft', ?)",
                (admin_id, _now()),
            )
            return cursor.lastrowid

    async def add_to_draft(
        self, broadcast_id: int, texts: dict[str, str], photo: str | None
    ) -> bool:
        """Set the given languages' texts (and the photo, when one is given) of a draft."""
        async with self._db.transaction() as conn:
            if not await self._is_draft(conn, broadcast_id):
                return False
            if photo is not None:
                await conn.execute(
                    "UPDATE broadcasts SET photo = ? WHERE broadcast_id = ?", (photo, broadcast_id)
                )
            await conn.executemany(
                "INSERT INTO broadcast_texts (broadcast_id, language, html) VALUES (?, ?, ?)"
                " ON CONFLICT (broadcast_id, language) DO UPDATE SET html = excluded.html",
                [(broadcast_id, language, html) for language, html in texts.items()],
            )
            return True

    @staticmethod
    async def _is_draft(
        conn: aiosqlite.Connection, broadcast_id: int, admin_id: int | None = None
    ) -> bool:
        """Whether the broadcast is a draft (of `admin_id`, when given)."""
        cursor = await conn.execute(
            "SELECT 1 FROM broadcasts WHERE broadcast_id = ? AND status = 'draft'"
            " AND (? IS NULL OR admin_id = ?)",
            (broadcast_id, admin_id, admin_id),
        )
        return await cursor.fetchone() is not None

    async def drop_text(self, broadcast_id: int, language: str) -> None:
        """Remove one language's text from a draft (Telegram refused it)."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "DELETE FROM broadcast_texts WHERE broadcast_id = ? AND language = ?"
                " AND broadcast_id IN (SELECT broadcast_id FROM broadcasts WHERE status = 'draft')",
                (broadcast_id, language),
            )

    async def discard_draft(self, broadcast_id: int, admin_id: int) -> bool:
        async with self._db.transaction() as conn:
            return await self._delete_draft(conn, admin_id, broadcast_id)

    @staticmethod
    async def _delete_draft(
        conn: aiosqlite.Connection, admin_id: int, broadcast_id: int | None = None
    ) -> bool:
        cursor = await conn.execute(
            "DELETE FROM broadcasts WHERE admin_id = ? AND status = 'draft'"
            " AND (? IS NULL OR broadcast_id = ?)",
            (admin_id, broadcast_id, broadcast_id),
        )
        return cursor.rowcount > 0

    async def confirm(
        self, broadcast_id: int, admin_id: int, default_language: str
    ) -> int | ConfirmProblem:
        """Turn `admin_id`'s draft into a running broadcast to today's audience; returns its
        size.

        Runs once per draft however often Send is pressed: only a row still in 'draft' moves.
        Another admin's draft counts as gone: only its author may send it.
        """
        async with self._db.transaction() as conn:
            if not await self._is_draft(conn, broadcast_id, admin_id):
                return ConfirmProblem.GONE
            cursor = await conn.execute(
                "SELECT 1 FROM broadcast_texts WHERE broadcast_id = ? AND language = ?",
                (broadcast_id, default_language),
            )
            if await cursor.fetchone() is None:
                return ConfirmProblem.NO_DEFAULT_TEXT
            await conn.execute(
                "UPDATE broadcasts SET status = 'sending', started_at = ? WHERE broadcast_id = ?",
                (_now(), broadcast_id),
            )
            return await self._snapshot_audience(conn, broadcast_id)

    async def create_milestone(self, milestone: int, amount: int, currency: str) -> int | None:
        """Start a milestone update unless this or a later milestone was already announced."""
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO broadcasts"
                " (kind, milestone, amount, currency, status, created_at, started_at)"
                " SELECT 'milestone', ?, ?, ?, 'sending', ?, ?"
                " WHERE NOT EXISTS (SELECT 1 FROM broadcasts WHERE milestone >= ?)",
                (milestone, amount, currency, _now(), _now(), milestone),
            )
            if cursor.rowcount == 0:
                return None
            broadcast_id = cursor.lastrowid
            await self._snapshot_audience(conn, broadcast_id)
            return broadcast_id

    @staticmethod
    async def _snapshot_audience(conn: aiosqlite.Connection, broadcast_id: int) -> int:
        cursor = await conn.execute(
            "INSERT INTO deliveries (broadcast_id, user_id, language, status)"
            f" SELECT ?, user_id, language, 'pending' {_AUDIENCE}",
            (broadcast_id,),
        )
        return cursor.rowcount

    async def audience(self) -> dict[str, int]:
        """Subscribers who would receive a broadcast now, by language."""
        rows = await self._db.fetch_all(
            f"SELECT language, count(*) AS n {_AUDIENCE} GROUP BY language"
        )
        return {row["language"]: row["n"] for row in rows}

    async def last_milestone(self) -> int:
        row = await self._db.fetch_one("SELECT max(milestone) FROM broadcasts")
        return row[0] or 0

    # -- delivering --------------------------------------------------------------------------

    async def recover(self) -> int:
        """After a crash: rows left 'sending' go back to pending and count as resent."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE broadcasts SET resent = resent + (SELECT count(*) FROM deliveries d"
                " WHERE d.broadcast_id = broadcasts.broadcast_id AND d.status = 'sending')"
                " WHERE status IN ('sending', 'cancelled') AND finished_at IS NULL"
            )
            cursor = await conn.execute(
                "UPDATE deliveries SET status = 'pending' WHERE status = 'sending'"
            )
            return cursor.rowcount

    async def next_to_send(self) -> Broadcast | None:
        """The oldest broadcast with work left, cancelled ones included (to be closed)."""
        row = await self._db.fetch_one(
            "SELECT * FROM broadcasts b WHERE status IN ('sending', 'cancelled')"
            " AND finished_at IS NULL AND NOT EXISTS"
            " (SELECT 1 FROM paused_broadcasts p WHERE p.broadcast_id = b.broadcast_id)"
            " ORDER BY broadcast_id LIMIT 1"
        )
        return None if row is None else await self._broadcast(row)

    async def _broadcast(self, row: aiosqlite.Row) -> Broadcast:
        return Broadcast(
            broadcast_id=row["broadcast_id"],
            kind=row["kind"],
            admin_id=row["admin_id"],
            milestone=row["milestone"],
            amount=row["amount"],
            currency=row["currency"],
            photo=row["photo"],
            texts=await self._texts(row["broadcast_id"]),
            status=Status(row["status"]),
        )

    async def pending(self, broadcast_id: int, after_user: int, limit: int) -> list[Delivery]:
        """A page of pending deliveries, by user id (keyset paging keeps memory flat).

        Each comes with the subscriber's discreet news setting as it is now.
        """
        rows = await self._db.fetch_all(
            "SELECT d.user_id, d.language, coalesce(u.discreet, 0) AS discreet"
            " FROM deliveries d LEFT JOIN users u ON u.user_id = d.user_id"
            " WHERE d.broadcast_id = ? AND d.status = 'pending' AND d.user_id > ?"
            " ORDER BY d.user_id LIMIT ?",
            (broadcast_id, after_user, limit),
        )
        return [Delivery(row["user_id"], row["language"], bool(row["discreet"])) for row in rows]

    async def claim(self, broadcast_id: int, user_id: int) -> bool:
        """Mark a delivery in flight; False if it was cancelled or forgotten meanwhile."""
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE deliveries SET status = 'sending'"
                " WHERE broadcast_id = ? AND user_id = ? AND status = 'pending'",
                (broadcast_id, user_id),
            )
            return cursor.rowcount > 0

    async def release(self, broadcast_id: int, user_id: int) -> None:
        """Put a claimed delivery back, unsent (the worker is stopping)."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE deliveries SET status = 'pending'"
                " WHERE broadcast_id = ? AND user_id = ? AND status = 'sending'",
                (broadcast_id, user_id),
            )

    async def settle(
        self, broadcast_id: int, user_id: int, outcome: Outcome, error: str | None = None
    ) -> None:
        """Record how a claimed delivery ended; a refusal (403) also marks the user blocked."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE deliveries SET status = ?, error = ?"
                " WHERE broadcast_id = ? AND user_id = ? AND status = 'sending'",
                (outcome.value, error, broadcast_id, user_id),
            )
            if outcome is Outcome.BLOCKED:
                await conn.execute(
                    "UPDATE users SET blocked_at = ? WHERE user_id = ? AND blocked_at IS NULL",
                    (_now(), user_id),
                )

    async def cancel(self, broadcast_id: int) -> Counts | None:
        """Stop a running broadcast: pending deliveries are cancelled, sent ones stay sent."""
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE broadcasts SET status = 'cancelled'"
                " WHERE broadcast_id = ? AND status = 'sending'",
                (broadcast_id,),
            )
            if cursor.rowcount == 0:
                return None
            await conn.execute(
                "UPDATE deliveries SET status = 'cancelled'"
                " WHERE broadcast_id = ? AND status = 'pending'",
                (broadcast_id,),
            )
            await conn.execute(
                "DELETE FROM paused_broadcasts WHERE broadcast_id = ?", (broadcast_id,)
            )
        return await self._counts(broadcast_id)

    async def pause_after_restore(self) -> list[int]:
        """On a database restored from a backup, pause the broadcasts it was sending.

        The backup cannot say who got them after it was made; an admin resumes or cancels
        each. Returns the paused ids, once: the backup's mark is removed.
        """
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "DELETE FROM checkpoints WHERE name = ? RETURNING value", (RESTORED_MARK,)
            )
            if await cursor.fetchone() is None:
                return []
            cursor = await conn.execute(
                "INSERT INTO paused_broadcasts (broadcast_id, paused_at)"
                " SELECT broadcast_id, ? FROM broadcasts WHERE status = 'sending'"
                " ON CONFLICT DO NOTHING RETURNING broadcast_id",
                (_now(),),
            )
            return sorted(row[0] for row in await cursor.fetchall())

    async def resume(self, broadcast_id: int) -> bool:
        """Let a paused broadcast go on; False if it was not paused."""
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "DELETE FROM paused_broadcasts WHERE broadcast_id = ?", (broadcast_id,)
            )
            return cursor.rowcount > 0

    async def finish(self, broadcast_id: int) -> Summary | None:
        """Close a broadcast with nothing left in flight: keep its counts, drop its rows.

        Returns None while deliveries are still pending or being sent.
        """
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "SELECT status, error, count(*) AS n FROM deliveries WHERE broadcast_id = ?"
                " GROUP BY status, error",
                (broadcast_id,),
            )
            by_status: Counter[str] = Counter()
            failures: Counter[str] = Counter()
            for row in await cursor.fetchall():
                by_status[row["status"]] += row["n"]
                if row["status"] == Outcome.FAILED and row["error"]:
                    failures[row["error"]] += row["n"]
            if by_status["pending"] or by_status["sending"]:
                return None
            cursor = await conn.execute(
                "UPDATE broadcasts SET status = CASE status WHEN 'sending' THEN 'done'"
                " ELSE status END, finished_at = ?, sent = ?, blocked = ?, failed = ?,"
                " cancelled = ?, failures = ?"
                " WHERE broadcast_id = ? AND finished_at IS NULL",
                (
                    _now(), by_status["sent"], by_status["blocked"], by_status["failed"],
                    by_status["cancelled"], json.dumps(dict(failures)), broadcast_id,
                ),
            )  # fmt: skip
            if cursor.rowcount == 0:
                return None
            await conn.execute("DELETE FROM deliveries WHERE broadcast_id = ?", (broadcast_id,))
        return await self.summary(broadcast_id)

    async def unreported(self) -> list[Summary]:
        """Finished posts whose admin was not told yet (the bot stopped in between)."""
        rows = await self._db.fetch_all(
            "SELECT * FROM broadcasts WHERE finished_at IS NOT NULL AND reported = 0"
            " AND admin_id IS NOT NULL ORDER BY broadcast_id"
        )
        return [await self._summary(row) for row in rows]

    async def claim_report(self, broadcast_id: int) -> bool:
        """True once per finished broadcast: its report is sent at most once."""
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE broadcasts SET reported = 1 WHERE broadcast_id = ? AND reported = 0"
                " AND finished_at IS NOT NULL",
                (broadcast_id,),
            )
            return cursor.rowcount > 0

    # -- reporting ---------------------------------------------------------------------------

    async def summary(self, broadcast_id: int) -> Summary | None:
        row = await self._db.fetch_one(
            "SELECT * FROM broadcasts WHERE broadcast_id = ? AND status <> 'draft'",
            (broadcast_id,),
        )
        return None if row is None else await self._summary(row)

    async def recent(self, limit: int) -> list[Summary]:
        rows = await self._db.fetch_all(
            "SELECT * FROM broadcasts WHERE status <> 'draft' ORDER BY broadcast_id DESC LIMIT ?",
            (limit,),
        )
        return [await self._summary(row) for row in rows]

    async def _summary(self, row: aiosqlite.Row) -> Summary:
        if row["finished_at"] is None:
            counts = await self._counts(row["broadcast_id"])
            failures: dict[str, int] = {}
        else:
            counts = Counts(
                sent=row["sent"], blocked=row["blocked"], failed=row["failed"],
                cancelled=row["cancelled"],
            )  # fmt: skip
            failures = json.loads(row["failures"] or "{}")
        return Summary(
            broadcast_id=row["broadcast_id"],
            kind=row["kind"],
            admin_id=row["admin_id"],
            milestone=row["milestone"],
            status=Status(row["status"]),
            created_at=row["created_at"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            counts=counts,
            failures=failures,
            resent=row["resent"],
        )

    async def _counts(self, broadcast_id: int) -> Counts:
        rows = await self._db.fetch_all(
            "SELECT status, count(*) AS n FROM deliveries WHERE broadcast_id = ? GROUP BY status",
            (broadcast_id,),
        )
        found = {row["status"]: row["n"] for row in rows}
        return Counts(
            pending=found.get("pending", 0) + found.get("sending", 0),
            sent=found.get("sent", 0),
            blocked=found.get("blocked", 0),
            failed=found.get("failed", 0),
            cancelled=found.get("cancelled", 0),
        )

    async def _texts(self, broadcast_id: int) -> dict[str, str]:
        rows = await self._db.fetch_all(
            "SELECT language, html FROM broadcast_texts WHERE broadcast_id = ?", (broadcast_id,)
        )
        return {row["language"]: row["html"] for row in rows}

    @staticmethod
    async def forget(conn: aiosqlite.Connection, user_id: int) -> bool:
        """Delete the user's delivery rows; part of `Storage.forget`."""
        cursor = await conn.execute("DELETE FROM deliveries WHERE user_id = ?", (user_id,))
        return cursor.rowcount > 0
