"""What admins did: who, what and when, for accountability. Never the content of a post."""

import time
from dataclasses import dataclass

from tgbot.storage.database import Database


@dataclass(frozen=True, slots=True)
class AuditEntry:
    admin_id: int
    action: str
    target: str | None
    at: int


class AuditLog:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def record(self, admin_id: int, action: str, target: str | None = None) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO audit_log (admin_id, action, target, at) VALUES (?, ?, ?, ?)",
                (admin_id, action, target, int(time.time())),
            )

    async def entries(self, limit: int = 100) -> list[AuditEntry]:
        """The latest entries, newest first."""
        rows = await self._db.fetch_all(
            "SELECT admin_id, action, target, at FROM audit_log ORDER BY entry_id DESC LIMIT ?",
            (limit,),
        )
        return [AuditEntry(*row) for row in rows]
