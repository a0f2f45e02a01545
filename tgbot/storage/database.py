"""The SQLite connection: pragmas, migrations and transactions.

Two aiosqlite connections serve the whole process, each in its own thread. Every write goes
through `transaction()` on the writer, which holds an asyncio lock so that coroutines never
interleave statements inside each other's transactions. Reads (`fetch_one`, `fetch_all`) go
to a read-only connection: in WAL mode it sees only committed data, so a total that is later
rolled back is never shown, and a write waiting for the lock never holds up a read.

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

CHECKPOINT = "PRAGMA wal_checkpoint(TRUNCATE)"
CHECKPOINT_TRIES = 20
CHECKPOINT_PAUSE = 0.1
"""Seconds between tries while a reader (a backup, the reconcile command) holds a snapshot."""


class DatabaseError(Exception):
    """The database file cannot be used (corrupt, too new, unreadable)."""


class Database:
    """An open database with its schema at the latest version."""

    def __init__(self, writer: aiosqlite.Connection, reader: aiosqlite.Connection) -> None:
        self._conn = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str, *, secure_delete: bool = True) -> "Database":
        """Open (creating folder and file if needed) and migrate to the latest schema.

        `secure_delete=False` exists only to prove that the erasure test can fail.
        """
        in_memory = str(path) == ":memory:"
        if not in_memory:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        writer = await _connect(path, secure_delete=secure_delete)
        try:
            await writer.execute("PRAGMA journal_mode = WAL")
            database = cls(writer, writer)
            await database._migrate()
            if not in_memory:  # an in-memory database exists for one connection only
                database._reader = await _connect(path, secure_delete=secure_delete)
                await database._reader.execute("PRAGMA query_only = ON")
        except BaseException:
            await writer.close()
            raise
        return database

    async def close(self) -> None:
        if self._reader is not self._conn:
            await self._reader.close()
        await self._conn.close()

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
        """Raise if the database cannot be read (used by the readiness check)."""
        async with self._reader.execute("SELECT count(*) FROM sqlite_master") as cursor:
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
            async with self._write_lock, self._conn.execute(CHECKPOINT) as cursor:
                busy, _, _ = await cursor.fetchone()
            if not busy:
                return True
            await asyncio.sleep(CHECKPOINT_PAUSE)
        log.warning("the write-ahead log could not be emptied: a reader held it")
        return False

    async def fetch_one(self, sql: str, params: tuple = ()) -> sqlite3.Row | None:
        async with self._reader.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def fetch_all(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        async with self._reader.execute(sql, params) as cursor:
            return list(await cursor.fetchall())


async def _connect(path: Path | str, *, secure_delete: bool) -> aiosqlite.Connection:
    connection = await aiosqlite.connect(path, isolation_level=None)
    connection.row_factory = sqlite3.Row
    for pragma in (
        "PRAGMA foreign_keys = ON",
        "PRAGMA synchronous = NORMAL",
        "PRAGMA busy_timeout = 5000",
        f"PRAGMA secure_delete = {'ON' if secure_delete else 'OFF'}",
    ):
        await connection.execute(pragma)
    return connection
