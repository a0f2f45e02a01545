"""Forward-only schema migrations, tracked with SQLite's `PRAGMA user_version`.

Migration N (1-based) brings a database from version N-1 to N. Never edit a released
migration: append a new one, so every older database file can still be upgraded.
"""

MIGRATIONS: tuple[str, ...] = (
    # 1: people who chose a language or subscribed. Nothing else about them is kept:
    # no names, usernames or message texts.
    """
    CREATE TABLE users (
        user_id         INTEGER PRIMARY KEY,
        language        TEXT    NOT NULL CHECK (language IN ('en', 'ru', 'de', 'fr', 'es')),
        language_chosen INTEGER NOT NULL DEFAULT 0 CHECK (language_chosen IN (0, 1)),
        subscribed_at   INTEGER,
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX users_subscribed ON users (subscribed_at) WHERE subscribed_at IS NOT NULL;
    """,
)

LATEST_VERSION = len(MIGRATIONS)
