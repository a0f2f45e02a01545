"""People who chose a language or subscribed to news: the only per-person data kept."""

import time
from dataclasses import dataclass

import aiosqlite

from tgbot.storage.database import Database


@dataclass(frozen=True, slots=True)
class UserRecord:
    user_id: int
    language: str
    language_chosen: bool
    subscribed: bool


def _now() -> int:
    return int(time.time())


class UserStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def get(self, user_id: int) -> UserRecord | None:
        row = await self._db.fetch_one(
            "SELECT user_id, language, language_chosen, subscribed_at FROM users WHERE user_id = ?",
            (user_id,),
        )
        if row is None:
            return None
        return UserRecord(
            user_id=row["user_id"],
            language=row["language"],
            language_chosen=bool(row["language_chosen"]),
            subscribed=row["subscribed_at"] is not None,
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
        """Subscribe or unsubscribe; returns False when the state was already that."""
        now = _now()
        async with self._db.transaction() as conn:
            if subscribed:
                cursor = await conn.execute(
                    "INSERT INTO users (user_id, language, subscribed_at, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (user_id) DO UPDATE SET subscribed_at = excluded.subscribed_at,"
                    " updated_at = excluded.updated_at WHERE users.subscribed_at IS NULL",
                    (user_id, language, now, now, now),
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
            return cursor.rowcount > 0

    async def subscribers(self) -> int:
        row = await self._db.fetch_one("SELECT count(*) FROM users WHERE subscribed_at IS NOT NULL")
        return row[0]

    @staticmethod
    async def forget(conn: aiosqlite.Connection, user_id: int) -> bool:
        """Delete the user's row; part of `Storage.forget`."""
        cursor = await conn.execute("DELETE FROM users WHERE user_id = ?", (user_id,))
        return cursor.rowcount > 0
