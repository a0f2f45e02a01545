"""All SQL lives in this package; the rest of the bot calls these typed methods."""

from tgbot.storage.audit import AuditLog
from tgbot.storage.broadcasts import BroadcastStore
from tgbot.storage.database import Database, DatabaseError
from tgbot.storage.donations import DonationStore
from tgbot.storage.users import UserRecord, UserStore

__all__ = [
    "AuditLog",
    "BroadcastStore",
    "Database",
    "DatabaseError",
    "DonationStore",
    "Storage",
    "UserRecord",
    "UserStore",
]

_PERSONAL = (UserStore, DonationStore, BroadcastStore)
"""Stores that keep something about a person, each with a `forget(conn, user_id)`."""


class Storage:
    """The database and one store per concern, opened together at start-up."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.users = UserStore(database)
        self.donations = DonationStore(database)
        self.broadcasts = BroadcastStore(database)
        self.audit = AuditLog(database)

    @classmethod
    async def open(cls, path: str, *, secure_delete: bool = True) -> "Storage":
        return cls(await Database.open(path, secure_delete=secure_delete))

    async def close(self) -> None:
        await self.database.close()

    async def forget(self, user_id: int, *, keep_donations: bool = False) -> bool:
        """Delete or unlink everything about a person, in one transaction.

        With `keep_donations` the link to their donations stays, so that a monthly gift they
        keep can still be found and stopped. Returns whether anything was stored about them.
        """
        stores = [s for s in _PERSONAL if not (keep_donations and s is DonationStore)]
        async with self.database.transaction() as conn:
            found = [await store.forget(conn, user_id) for store in stores]
        await self.database.truncate_wal()  # the log still holds the deleted rows
        return any(found)
