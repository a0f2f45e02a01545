"""The SQLite layer: migrations from every older version, transactions, per-user data."""

import asyncio
import sqlite3

import pytest

from tgbot.storage import Database, DatabaseError, Storage
from tgbot.storage.migrations import LATEST_VERSION, MIGRATIONS


def schema(path) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return sorted(conn.execute("SELECT type, name, sql FROM sqlite_master").fetchall())


def build_at_version(path, version: int) -> None:
    """A database file as a release at `version` would have left it."""
    with sqlite3.connect(path) as conn:
        for script in MIGRATIONS[:version]:
            conn.executescript(script)
        conn.execute(f"PRAGMA user_version = {version}")


async def test_empty_file_is_created_with_folder_and_migrated(tmp_path):
    path = tmp_path / "nested" / "folder" / "bot.sqlite3"
    database = await Database.open(path)
    try:
        assert await database.schema_version() == LATEST_VERSION
        assert path.exists()
        row = await database.fetch_one("PRAGMA journal_mode")
        assert row[0] == "wal"
        row = await database.fetch_one("PRAGMA foreign_keys")
        assert row[0] == 1
    finally:
        await database.close()


@pytest.mark.parametrize("version", range(LATEST_VERSION + 1))
async def test_every_older_version_upgrades_to_the_same_schema(tmp_path, version):
    fresh, old = tmp_path / "fresh.sqlite3", tmp_path / "old.sqlite3"
    await (await Database.open(fresh)).close()
    build_at_version(old, version)
    database = await Database.open(old)
    try:
        assert await database.schema_version() == LATEST_VERSION
    finally:
        await database.close()
    assert schema(old) == schema(fresh)


async def test_newer_schema_than_the_program_is_refused(tmp_path):
    path = tmp_path / "future.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    with pytest.raises(DatabaseError, match="newer than this program"):
        await Database.open(path)


async def test_failed_migration_leaves_the_file_at_its_old_version(tmp_path):
    path = tmp_path / "clash.sqlite3"
    with sqlite3.connect(path) as conn:  # a table in the way of migration 1
        conn.execute("CREATE TABLE users (anything)")
    with pytest.raises(sqlite3.OperationalError):
        await Database.open(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 0


async def test_transaction_rolls_back_on_error(tmp_path):
    storage = await Storage.open(tmp_path / "bot.sqlite3")
    try:
        with pytest.raises(RuntimeError):
            async with storage.database.transaction() as conn:
                await conn.execute(
                    "INSERT INTO users (user_id, language, created_at, updated_at)"
                    " VALUES (1, 'en', 0, 0)"
                )
                raise RuntimeError("boom")
        assert await storage.users.get(1) is None
    finally:
        await storage.close()


@pytest.fixture
async def storage(tmp_path):
    storage = await Storage.open(tmp_path / "bot.sqlite3")
    yield storage
    await storage.close()


async def test_language_choice_is_stored_and_wins(storage):
    await storage.users.choose_language(7, "ru")
    await storage.users.follow_client_language(7, "de")
    record = await storage.users.get(7)
    assert (record.language, record.language_chosen, record.subscribed) == ("ru", True, False)


async def test_subscriber_without_a_choice_follows_the_client(storage):
    assert await storage.users.set_subscribed(8, "en", True) is True
    assert await storage.users.set_subscribed(8, "en", True) is False
    await storage.users.follow_client_language(8, "fr")
    record = await storage.users.get(8)
    assert (record.language, record.language_chosen, record.subscribed) == ("fr", False, True)


async def test_unsubscribing_drops_a_row_kept_only_for_the_subscription(storage):
    await storage.users.set_subscribed(9, "en", True)
    assert await storage.users.set_subscribed(9, "en", False) is True
    assert await storage.users.get(9) is None
    assert await storage.users.set_subscribed(9, "en", False) is False


async def test_unsubscribing_keeps_a_language_choice(storage):
    await storage.users.choose_language(10, "es")
    await storage.users.set_subscribed(10, "es", True)
    await storage.users.set_subscribed(10, "es", False)
    record = await storage.users.get(10)
    assert (record.language, record.subscribed) == ("es", False)


async def test_forget_deletes_the_row(storage):
    await storage.users.choose_language(11, "de")
    assert await storage.forget(11) is True
    assert await storage.users.get(11) is None
    assert await storage.forget(11) is False


async def test_hostile_text_is_stored_as_data(storage):
    with pytest.raises(sqlite3.IntegrityError):  # CHECK constraint, not SQL injection
        await storage.users.choose_language(12, "en'); DROP TABLE users; --")
    assert await storage.users.get(12) is None
    await storage.users.choose_language(13, "en")
    assert (await storage.users.get(13)).language == "en"


async def test_discreet_news_is_on_for_russian_subscribers_until_they_choose(storage):
    users = storage.users
    await users.set_subscribed(20, "ru", True)
    await users.set_subscribed(21, "en", True)
    assert [(await users.get(n)).discreet for n in (20, 21)] == [True, False]
    assert await users.set_discreet(20, False)
    assert await users.set_discreet(21, True)
    assert [(await users.get(n)).discreet for n in (20, 21)] == [False, True]
    assert await users.set_discreet(22, True) is False  # not subscribed: nothing stored
    assert await users.get(22) is None


async def test_a_discreet_choice_is_kept_with_the_row_and_goes_with_it(storage):
    users = storage.users
    await users.choose_language(23, "ru")
    await users.set_subscribed(23, "ru", True)
    await users.set_discreet(23, False)
    await users.set_subscribed(23, "ru", False)  # the row stays for the language choice
    await users.set_subscribed(23, "ru", True)
    assert (await users.get(23)).discreet is False
    await users.set_subscribed(24, "en", True)
    await users.set_discreet(24, True)
    await users.set_subscribed(24, "en", False)  # the row goes, and the choice with it
    await users.set_subscribed(24, "en", True)
    assert (await users.get(24)).discreet is False
    await users.set_discreet(24, True)
    assert await storage.forget(24)
    await users.set_subscribed(24, "en", True)
    assert (await users.get(24)).discreet is False


async def test_upgrading_turns_discreet_news_on_for_russian_subscribers(tmp_path):
    path = tmp_path / "v3.sqlite3"
    build_at_version(path, 3)
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO users (user_id, language, subscribed_at, created_at, updated_at)"
            " VALUES (?, ?, ?, 0, 0)",
            [(1, "ru", 0), (2, "en", 0), (3, "ru", None)],
        )
    storage = await Storage.open(path)
    try:
        rows = await storage.database.fetch_all("SELECT user_id, discreet FROM users")
        assert [tuple(row) for row in rows] == [(1, 1), (2, 0), (3, None)]
    finally:
        await storage.close()


async def test_a_write_that_is_rolled_back_is_never_read(tmp_path):
    """Reads use their own connection: they see committed data only, even mid-transaction."""
    storage = await Storage.open(str(tmp_path / "bot.sqlite3"))
    written, release = asyncio.Event(), asyncio.Event()

    async def write_then_fail() -> None:
        async with storage.database.transaction() as conn:
            await conn.execute(
                "INSERT INTO users (user_id, language, created_at, updated_at)"
                " VALUES (42, 'en', 0, 0)"
            )
            written.set()
            await release.wait()
            raise RuntimeError("rolled back")

    try:
        task = asyncio.create_task(write_then_fail())
        await written.wait()
        assert await storage.users.get(42) is None  # not committed: not shown
        release.set()
        with pytest.raises(RuntimeError):
            await task
        assert await storage.users.get(42) is None
    finally:
        await storage.close()
