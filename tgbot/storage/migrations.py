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
    # 2: donations. Stripe sees only the random intent id; only this table links it to a
    # person, and /forget cuts that link while the amounts stay in the totals.
    """
    CREATE TABLE donation_intents (
        intent_id  TEXT    PRIMARY KEY,
        user_id    INTEGER,
        language   TEXT    NOT NULL,
        amount     INTEGER NOT NULL CHECK (amount > 0),
        currency   TEXT    NOT NULL CHECK (currency IN ('usd', 'eur', 'gbp')),
        monthly    INTEGER NOT NULL DEFAULT 0 CHECK (monthly IN (0, 1)),
        session_id TEXT    UNIQUE,
        url        TEXT,
        expires_at INTEGER,
        created_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX donation_intents_by_user ON donation_intents (user_id, created_at)
        WHERE user_id IS NOT NULL;

    -- One row per payment: a one-time gift's Checkout Session, or one invoice of a monthly
    -- gift. The primary key is what makes a payment count once.
    CREATE TABLE donations (
        donation_id       TEXT    PRIMARY KEY,
        intent_id         TEXT    NOT NULL REFERENCES donation_intents (intent_id),
        subscription_id   TEXT,
        payment_intent_id TEXT    UNIQUE,
        amount            INTEGER NOT NULL CHECK (amount > 0),
        currency          TEXT    NOT NULL,
        status            TEXT    NOT NULL
                          CHECK (status IN ('pending', 'expired', 'failed', 'paid')),
        settled_amount    INTEGER,
        settled_currency  TEXT,
        fee               INTEGER,
        thanks            TEXT    NOT NULL DEFAULT 'none'
                          CHECK (thanks IN ('none', 'due', 'sending', 'sent')),
        created_at        INTEGER NOT NULL,
        paid_at           INTEGER,
        updated_at        INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX donations_paid ON donations (paid_at) WHERE status = 'paid';
    CREATE INDEX donations_thanks_due ON donations (thanks) WHERE thanks = 'due';

    -- Monthly gifts; each paid invoice is a row in donations.
    CREATE TABLE subscriptions (
        subscription_id TEXT    PRIMARY KEY,
        intent_id       TEXT    NOT NULL REFERENCES donation_intents (intent_id),
        status          TEXT    NOT NULL CHECK (status IN ('active', 'canceled')),
        created_at      INTEGER NOT NULL,
        canceled_at     INTEGER
    ) STRICT;
    CREATE INDEX subscriptions_by_intent ON subscriptions (intent_id);

    -- Refunds and disputes by payment, kept even when they arrive before the payment itself.
    CREATE TABLE refunds (
        payment_intent_id TEXT    PRIMARY KEY,
        charge_id         TEXT    NOT NULL,
        amount_refunded   INTEGER NOT NULL CHECK (amount_refunded >= 0),
        updated_at        INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE disputes (
        dispute_id        TEXT    PRIMARY KEY,
        payment_intent_id TEXT    NOT NULL,
        amount            INTEGER NOT NULL CHECK (amount >= 0),
        status            TEXT    NOT NULL,
        updated_at        INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX disputes_by_payment ON disputes (payment_intent_id);

    -- What each donation lost to refunds and to disputes that are open or lost.
    CREATE VIEW donation_balances AS
    SELECT d.*, MIN(d.amount, COALESCE(r.amount_refunded, 0) + COALESCE(x.held, 0)) AS returned
    FROM donations d
    LEFT JOIN refunds r ON r.payment_intent_id = d.payment_intent_id
    LEFT JOIN (SELECT payment_intent_id, SUM(amount) AS held FROM disputes
               WHERE status NOT IN ('won', 'warning_closed') GROUP BY payment_intent_id) x
           ON x.payment_intent_id = d.payment_intent_id;

    -- Every Stripe event applied, so a redelivery or a reconciled copy changes nothing.
    CREATE TABLE stripe_events (
        event_id     TEXT    PRIMARY KEY,
        type         TEXT    NOT NULL,
        created      INTEGER NOT NULL,
        processed_at INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE checkpoints (
        name  TEXT    PRIMARY KEY,
        value INTEGER NOT NULL
    ) STRICT;
    """,
    # 3: news. A subscriber whose chat refused a message (403) is marked and skipped until
    # they write again. Subscribing and unsubscribing are counted per day, reasons per reason,
    # neither linked to a person.
    """
    ALTER TABLE users ADD COLUMN blocked_at INTEGER;

    CREATE TABLE subscription_days (
        day    TEXT    PRIMARY KEY,
        joined INTEGER NOT NULL DEFAULT 0,
        left   INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    CREATE TABLE unsubscribe_reasons (
        reason TEXT    PRIMARY KEY,
        count  INTEGER NOT NULL
    ) STRICT;

    -- A news post (drafted by an admin) or a milestone update (written by the bot).
    CREATE TABLE broadcasts (
        broadcast_id  INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: buttons name ids
        kind          TEXT    NOT NULL CHECK (kind IN ('post', 'milestone')),
        admin_id      INTEGER,
        milestone     INTEGER UNIQUE,
        amount        INTEGER,  -- a milestone's total, in minor units of `currency`
        currency      TEXT,
        photo         TEXT,
        status        TEXT    NOT NULL CHECK (status IN ('draft', 'sending', 'done', 'cancelled')),
        created_at    INTEGER NOT NULL,
        started_at    INTEGER,
        finished_at   INTEGER,
        -- filled in when the broadcast ends and its delivery rows are deleted
        sent          INTEGER,
        blocked       INTEGER,
        failed        INTEGER,
        cancelled     INTEGER,
        failures      TEXT,
        resent        INTEGER NOT NULL DEFAULT 0,
        reported      INTEGER NOT NULL DEFAULT 0 CHECK (reported IN (0, 1))
    ) STRICT;
    CREATE INDEX broadcasts_sending ON broadcasts (broadcast_id) WHERE status = 'sending';
    CREATE UNIQUE INDEX broadcasts_one_draft ON broadcasts (admin_id) WHERE status = 'draft';

    CREATE TABLE broadcast_texts (
        broadcast_id INTEGER NOT NULL REFERENCES broadcasts (broadcast_id) ON DELETE CASCADE,
        language     TEXT    NOT NULL CHECK (language IN ('en', 'ru', 'de', 'fr', 'es')),
        html         TEXT    NOT NULL,
        PRIMARY KEY (broadcast_id, language)
    ) STRICT;

    -- One row per recipient while a broadcast runs: pending -> sending -> sent, blocked or
    -- failed. A row still 'sending' after a crash was maybe delivered; it is sent again.
    CREATE TABLE deliveries (
        broadcast_id INTEGER NOT NULL REFERENCES broadcasts (broadcast_id),
        user_id      INTEGER NOT NULL,
        language     TEXT    NOT NULL,
        status       TEXT    NOT NULL CHECK (status IN
                             ('pending', 'sending', 'sent', 'blocked', 'failed', 'cancelled')),
        error        TEXT,
        PRIMARY KEY (broadcast_id, user_id)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX deliveries_by_status ON deliveries (broadcast_id, status);
    CREATE INDEX deliveries_by_user ON deliveries (user_id);

    -- What admins did, for accountability: who, what, when.
    CREATE TABLE audit_log (
        entry_id INTEGER PRIMARY KEY,
        admin_id INTEGER NOT NULL,
        action   TEXT    NOT NULL,
        target   TEXT,
        at       INTEGER NOT NULL
    ) STRICT;
    """,
    # 4: discreet news: sent without a sound, behind a neutral first line. Set when a person
    # subscribes (on for Russian, the language of those most at risk) unless they chose
    # already; NULL for someone who never subscribed.
    """
    ALTER TABLE users ADD COLUMN discreet INTEGER CHECK (discreet IN (0, 1));

    UPDATE users SET discreet = (language = 'ru') WHERE subscribed_at IS NOT NULL;
    """,
    # 5: an inquiry (a dispute in `warning_needs_response` or `warning_under_review`) takes
    # no funds: only disputes that did (open, or lost) hold money back.
    """
    DROP VIEW donation_balances;
    CREATE VIEW donation_balances AS
    SELECT d.*, MIN(d.amount, COALESCE(r.amount_refunded, 0) + COALESCE(x.held, 0)) AS returned
    FROM donations d
    LEFT JOIN refunds r ON r.payment_intent_id = d.payment_intent_id
    LEFT JOIN (SELECT payment_intent_id, SUM(amount) AS held FROM disputes
               WHERE status IN ('needs_response', 'under_review', 'lost')
               GROUP BY payment_intent_id) x
           ON x.payment_intent_id = d.payment_intent_id;
    """,
    # 6: buttons name a monthly gift by a random local reference, never by its Stripe id:
    # the chat keeps the button after /forget, and a Stripe id would lead to the payer.
    """
    ALTER TABLE subscriptions ADD COLUMN ref TEXT;
    UPDATE subscriptions SET ref = lower(hex(randomblob(8)));
    CREATE UNIQUE INDEX subscriptions_by_ref ON subscriptions (ref);
    """,
    # 7: Stripe events that could not be read. Reconciliation moves past them and tries
    # them again by id; after a few tries the admins are told, once.
    """
    CREATE TABLE failed_events (
        event_id        TEXT    PRIMARY KEY,
        type            TEXT    NOT NULL,
        attempts        INTEGER NOT NULL,
        first_failed_at INTEGER NOT NULL,
        last_failed_at  INTEGER NOT NULL,
        reported        INTEGER NOT NULL DEFAULT 0 CHECK (reported IN (0, 1))
    ) STRICT;
    """,
    # 8: broadcasts paused because the database was restored from a backup: nobody can know
    # who got them after the copy was made, so an admin decides to resume or cancel.
    """
    CREATE TABLE paused_broadcasts (
        broadcast_id INTEGER PRIMARY KEY REFERENCES broadcasts (broadcast_id) ON DELETE CASCADE,
        paused_at    INTEGER NOT NULL
    ) STRICT;
    """,
)

LATEST_VERSION = len(MIGRATIONS)
