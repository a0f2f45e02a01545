"""The SQLite connection: pragmas, migrations and transactions.

One aiosqlite connection serves the whole process. It runs in autocommit mode and every write
goes through `transaction()`, which holds an asyncio lock so that coroutines never interleave
statements inside each other's transactions.

Deleted rows must be gone from the disk, not only from queries: `secure_delete` overwrites
them in the database file (Debian's SQLite has it on by default, upstream's does not), and
`truncate_wal()` empties the write-ahead log, which otherwise keeps old copies of pages.
"""

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from tgbot.storage.migrations import LATEST_VERSION, MIGRATIONS

log = logging.getLogger(__name__)

CHECKPOINT_TRIES = 20
CHECKPOINT_PAUSE = 0.1
"""Seconds between tries while a reader (a backup, the reconcile command) holds a snapshot."""


class DatabaseError(Exception):
    """The database file cannot be used (corrupt, too new, unreadable)."""


class Database:
    """An open database with its schema at the latest version."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._conn = connection
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str) -> "Database":
        """Open (creating folder and file if needed) and migrate to the latest schema."""
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        connection = await aiosqlite.connect(path, isolation_level=None)
        connection.row_factory = sqlite3.Row
        database = cls(connection)
        try:
            await database._configure()
            await database._migrate()
        except BaseException:
            await connection.close()
            raise
        return database

    async def close(self) -> None:
        await self._conn.close()

    async def _configure(self) -> None:
        for pragma in (
            "PRAGMA journal_mode = WAL",
            "PRAGMA foreign_keys = ON",
            "PRAGMA synchronous = NORMAL",
            "PRAGMA busy_timeout = 5000",
            "PRAGMA secure_delete = ON",
        ):
            await self._conn.execute(pragma)

    async def schema_version(self) -> int:
        async with self._conn.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0])

    async def _migrate(self) -> None:
        current = await self.schema_version()
        if current > LATEST_VERSION:
            raise DatabaseError(
                f"database schema version {current} is newer than this program "
                f"({LATEST_VERSION}); upgrade appeal-bot"
            )
        for version in range(current + 1, LATEST_VERSION + 1):
            script = MIGRATIONS[version - 1]
            try:
                await self._conn.executescript(
                    f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;"
                )
            except sqlite3.Error:
                if self._conn.in_transaction:
                    await self._conn.rollback()
                raise

    async def ping(self) -> None:
        """Raise if the database cannot be read (used by the health check)."""
        async with self._conn.execute("SELECT count(*) FROM sqlite_master") as cursor:
            await cursor.fetchone()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction: committed on success, rolled back on any exception."""
        async with self._write_lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                await self._conn.rollback()
                raise
            await self._conn.commit()

    async def truncate_wal(self) -> bool:
        """Copy the write-ahead log into the database and empty it; False if readers kept it.

        SQLite reports `busy` and leaves the log as it is while any reader holds a snapshot,
        so this tries again for a while.
        """
        for _ in range(CHECKPOINT_TRIES):
            async with self._write_lock:
                busy, _, _ = await self.fetch_one("PRAGMA wal_checkpoint(TRUNCATE)")
            if not busy:
                return True
            await asyncio.sleep(CHECKPOINT_PAUSE)
        log.warning("the write-ahead log could not be emptied: a reader held it")
        return False

    async def fetch_one(self, sql: str, params: tuple = ()) -> sqlite3.Row | None:
        async with self._conn.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def fetch_all(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        async with self._conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())
