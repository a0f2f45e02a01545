"""People who chose a language or subscribed to news: the only per-person data kept."""

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime

import aiosqlite

from tgbot.storage.database import Database


@dataclass(frozen=True, slots=True)
class UserRecord:
    user_id: int
    language: str
    language_chosen: bool
    subscribed: bool
    blocked: bool
    """Telegram refused a message to them (403); no news until they write again."""
    discreet: bool
    """News comes silently, behind a neutral first line; always set while subscribed."""


@dataclass(frozen=True, slots=True)
class SubscriberStats:
    by_language: dict[str, int]
    """Subscribers by language, blocked ones included."""
    blocked: int
    joined: int
    left: int
    """Subscriptions started and ended in the period asked for."""
    reasons: dict[str, int]
    """Reasons given for unsubscribing, all time."""


DISCREET_BY_DEFAULT = frozenset({"ru"})
"""Languages whose subscribers get discreet news unless they turn it off."""


def _now() -> int:
    return int(time.time())


def _day(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).date().isoformat()


class UserStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def get(self, user_id: int) -> UserRecord | None:
        row = await self._db.fetch_one(
            "SELECT user_id, language, language_chosen, subscribed_at, blocked_at, discreet"
            " FROM users WHERE user_id = ?",
            (user_id,),
        )
        if row is None:
            return None
        return UserRecord(
            user_id=row["user_id"],
            language=row["language"],
            language_chosen=bool(row["language_chosen"]),
            subscribed=row["subscribed_at"] is not None,
            blocked=row["blocked_at"] is not None,
            discreet=bool(row["discreet"]),
        )

    async def choose_language(self, user_id: int, language: str) -> None:
        """Store an explicit choice; it wins over the Telegram client's language from now on."""
        now = _now()
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO users (user_id, language, language_chosen, created_at, updated_at)"
                " VALUES (?, ?, 1, ?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET language = excluded.language,"
                " language_chosen = 1, updated_at = excluded.updated_at",
                (user_id, language, now, now),
            )

    async def follow_client_language(self, user_id: int, language: str) -> None:
        """Keep a stored language in step with the client's while the user never chose one."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE users SET language = ?, updated_at = ?"
                " WHERE user_id = ? AND language_chosen = 0 AND language <> ?",
                (language, _now(), user_id, language),
            )

    async def set_subscribed(self, user_id: int, language: str, subscribed: bool) -> bool:
        """Subscribe or unsubscribe; returns False when the state was already that.

        Subscribing in a language of `DISCREET_BY_DEFAULT` turns discreet news on, unless the
        person chose before (and kept their row).
        """
        now = _now()
        async with self._db.transaction() as conn:
            if subscribed:
                cursor = await conn.execute(
                    "INSERT INTO users"
                    " (user_id, language, subscribed_at, discreet, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (user_id) DO UPDATE SET subscribed_at = excluded.subscribed_at,"
                    " discreet = coalesce(users.discreet, excluded.discreet),"
                    " updated_at = excluded.updated_at WHERE users.subscribed_at IS NULL",
                    (user_id, language, now, language in DISCREET_BY_DEFAULT, now, now),
                )
            else:
                # A row kept only for the subscription has no reason to exist after it.
                cursor = await conn.execute(
                    "DELETE FROM users WHERE user_id = ? AND subscribed_at IS NOT NULL"
                    " AND language_chosen = 0",
                    (user_id,),
                )
                if cursor.rowcount == 0:
                    cursor = await conn.execute(
                        "UPDATE users SET subscribed_at = NULL, updated_at = ?"
                        " WHERE user_id = ? AND subscribed_at IS NOT NULL",
                        (now, user_id),
                    )
            if cursor.rowcount == 0:
                return False
            if not subscribed:  # no news after leaving, not even a broadcast under way
                await conn.execute(
                    "UPDATE deliveries SET status = 'cancelled'"
                    " WHERE user_id = ? AND status = 'pending'",
                    (user_id,),
                )
            await conn.execute(
                "INSERT INTO subscription_days (day, joined, left) VALUES (?, ?, ?)"
                " ON CONFLICT (day) DO UPDATE SET joined = joined + excluded.joined,"
                " left = left + excluded.left",
                (_day(now), int(subscribed), int(not subscribed)),
            )
            return True

    async def set_discreet(self, user_id: int, discreet: bool) -> bool:
        """Turn discreet news on or off for a subscriber; False if they are not subscribed."""
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE users SET discreet = ?, updated_at = ?"
                " WHERE user_id = ? AND subscribed_at IS NOT NULL",
                (discreet, _now(), user_id),
            )
            return cursor.rowcount > 0

    async def count_reason(self, reason: str) -> None:
        """Count a reason for unsubscribing; who gave it is not stored."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO unsubscribe_reasons (reason, count) VALUES (?, 1)"
                " ON CONFLICT (reason) DO UPDATE SET count = count + 1",
                (reason,),
            )

    async def set_blocked(self, user_id: int, blocked: bool) -> bool:
        """Mark that the user blocked the bot, or that they came back; False if unchanged."""
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE users SET blocked_at = ? WHERE user_id = ? AND (blocked_at IS NULL) = ?",
                (_now() if blocked else None, user_id, blocked),
            )
            return cursor.rowcount > 0

    async def subscribers(self) -> int:
        row = await self._db.fetch_one("SELECT count(*) FROM users WHERE subscribed_at IS NOT NULL")
        return row[0]

    async def subscriber_stats(self, since: date) -> SubscriberStats:
        """Counts for /stats; `joined` and `left` from the day `since` on."""
        rows = await self._db.fetch_all(
            "SELECT language, count(*) AS n, count(blocked_at) AS blocked FROM users"
            " WHERE subscribed_at IS NOT NULL GROUP BY language"
        )
        period = await self._db.fetch_one(
            "SELECT coalesce(sum(joined), 0), coalesce(sum(left), 0) FROM subscription_days"
            " WHERE day >= ?",
            (since.isoformat(),),
        )
        reasons = await self._db.fetch_all("SELECT reason, count FROM unsubscribe_reasons")
        return SubscriberStats(
            by_language={row["language"]: row["n"] for row in rows},
            blocked=sum(row["blocked"] for row in rows),
            joined=period[0],
            left=period[1],
            reasons={row["reason"]: row["count"] for row in reasons},
        )

    @staticmethod
    async def forget(conn: aiosqlite.Connection, user_id: int) -> bool:
        """Delete the user's row; part of `Storage.forget`."""
        cursor = await conn.execute("DELETE FROM users WHERE user_id = ?", (user_id,))
        return cursor.rowcount > 0
