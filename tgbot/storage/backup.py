"""A consistent copy of the live database, taken while the bot runs.

The whole state (totals, subscribers, news in progress) is one SQLite file. SQLite's online
backup API copies it page by page under a read snapshot, so the copy is a committed state
even while webhooks are being written. The copy is checked, then moved into place in one
step: a half-written file never takes the name of a backup. It is marked as a backup, so a
bot started on it after a restore pauses the news it was sending (`BroadcastStore`).
"""

import os
import sqlite3
from contextlib import closing
from pathlib import Path

RESTORED_MARK = "backup_taken_at"
"""Checkpoint set in every copy: a database that has it was restored from a backup."""
PAGES_PER_STEP = 256
"""Pages copied before the bot's writers get a turn."""


class BackupError(Exception):
    """The copy could not be made or did not check out."""


def backup(source: Path, target: Path) -> int:
    """Copy the database at `source` to `target`; returns the copy's size in bytes."""
    if not source.exists():
        raise BackupError(f"no database at {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    try:
        with (
            closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as live,
            closing(sqlite3.connect(partial)) as copy,
        ):
            live.backup(copy, pages=PAGES_PER_STEP)
            copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
            with copy:
                copy.execute(
                    "INSERT INTO checkpoints (name, value)"
                    " VALUES (?, CAST(strftime('%s') AS INTEGER))"
                    " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    (RESTORED_MARK,),
                )
            (verdict,) = copy.execute("PRAGMA integrity_check").fetchone()
        if verdict != "ok":
            raise BackupError(f"the copy failed its integrity check: {verdict}")
        os.replace(partial, target)
    except sqlite3.Error as error:
        raise BackupError(f"{type(error).__name__}: {error}") from None
    finally:
        partial.unlink(missing_ok=True)
    return target.stat().st_size
