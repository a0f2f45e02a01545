"""After /forget the person's id is gone from the bytes on disk, not only from queries.

The raw database file and its write-ahead log are scanned for the id as text and in every
form SQLite stores an integer: big-endian in 1 to 8 bytes inside a record, and as a varint
where it is a row's key (`users.user_id` is the rowid). The same scan with `secure_delete`
turned off finds the id, so it is a check that can fail.
"""

from pathlib import Path

from tgbot.storage import Storage

PERSON = 987_654_321_123
OTHERS = range(1_000, 1_040)


def varint(value: int) -> bytes:
    """SQLite's variable-length integer: 7 bits a byte, most significant first."""
    groups = [value & 0x7F]
    value >>= 7
    while value:
        groups.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes(reversed(groups))


def encodings(value: int) -> list[bytes]:
    as_ints = [value.to_bytes(size, "big") for size in (6, 8)]  # the sizes that can hold it
    return [str(value).encode(), varint(value), *as_ints]


def traces(path: Path) -> list[str]:
    found = []
    for file in (path, path.with_name(path.name + "-wal")):
        data = file.read_bytes() if file.exists() else b""
        found += [f"{file.name}: {form.hex()}" for form in encodings(PERSON) if form in data]
    return found


async def stored_then_forgotten(path: Path, *, secure_delete: bool) -> list[str]:
    storage = await Storage.open(str(path), secure_delete=secure_delete)
    try:
        for user_id in OTHERS:  # rows around it, so that its page stays in use
            await storage.users.set_subscribed(user_id, "en", True)
        await storage.users.set_subscribed(PERSON, "ru", True)
        await storage.users.choose_language(PERSON, "de")
        await storage.donations.create_intent("int_forget_me", PERSON, "de", 2500, "eur")
        assert traces(path)  # the scan sees the id while it is stored
        assert await storage.forget(PERSON)
        return traces(path)
    finally:
        await storage.close()


async def test_forget_leaves_no_trace_of_the_id_on_disk(tmp_path):
    assert await stored_then_forgotten(tmp_path / "bot.sqlite3", secure_delete=True) == []


async def test_the_scan_finds_the_id_when_deleted_rows_are_not_overwritten(tmp_path):
    assert await stored_then_forgotten(tmp_path / "bot.sqlite3", secure_delete=False)
