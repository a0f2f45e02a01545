"""All SQL lives in this package; the rest of the bot calls these typed methods."""

from tgbot.storage.database import Database, DatabaseError
from tgbot.storage.users import UserRecord, UserStore

__all__ = ["Database", "DatabaseError", "Storage", "UserRecord", "UserStore"]


class Storage:
    """The database and one store per concern, opened together at start-up."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.users = UserStore(database)

    @classmethod
    async def open(cls, path: str) -> "Storage":
        return cls(await Database.open(path))

    async def close(self) -> None:
        await self.database.close()
