"""Versioned schema migrations, applied in order at start-up.

Each migration is a list of statements; ``{pk}`` stands for the dialect's
auto-incrementing primary key (``Dialect.ddl``), so braces are doubled. A
migration never changes once released: new needs get a new version at the
end of ``MIGRATIONS``.
"""

from __future__ import annotations

import logging

from ._database import SqlDatabase, SqlTransaction, serialize

__all__ = ["MIGRATIONS", "migrate", "schema_version"]

log = logging.getLogger(__name__)

MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (
        1,
        "conversations, inbound/outbound messages, cases and their audit trail",
        [
            """CREATE TABLE conversations (
                channel TEXT NOT NULL,
                user_id TEXT NOT NULL,
                state TEXT NOT NULL,
                data TEXT NOT NULL,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                PRIMARY KEY (channel, user_id)
            )""",
            # Every message a resident sends, stored before it is processed.
            """CREATE TABLE inbound (
                id {pk},
                channel TEXT NOT NULL,
                user_id TEXT NOT NULL,
                platform_msg_id TEXT,
                kind TEXT NOT NULL,
                body TEXT NOT NULL,
                received_at TEXT NOT NULL,
                processed_at TEXT,
                UNIQUE (channel, platform_msg_id)
            )""",
            "CREATE INDEX inbound_by_user ON inbound (channel, user_id, id)",
            "CREATE INDEX inbound_unprocessed ON inbound (processed_at)",
            # Every message the service sends to a resident, delivered or not.
            """CREATE TABLE outbound (
                id {pk},
                channel TEXT NOT NULL,
                user_id TEXT NOT NULL,
                inbound_id INTEGER REFERENCES inbound (id),
                body TEXT NOT NULL,
                created_at TEXT NOT NULL,
                delivered_at TEXT,
                attempts INTEGER NOT NULL DEFAULT 0
            )""",
            "CREATE INDEX outbound_by_user ON outbound (channel, user_id, id)",
            "CREATE INDEX outbound_by_inbound ON outbound (inbound_id)",
            """CREATE TABLE cases (
                id {pk},
                number TEXT UNIQUE,
                channel TEXT NOT NULL,
                user_id TEXT NOT NULL,
                category TEXT NOT NULL,
                description TEXT NOT NULL,
                region_code TEXT NOT NULL,
                location_text TEXT NOT NULL,
                location_method TEXT NOT NULL,
                lat REAL,
                lon REAL,
                phone TEXT,
                center_id TEXT NOT NULL,
                center_name TEXT NOT NULL,
                level TEXT NOT NULL,
                status TEXT NOT NULL,
                urgent INTEGER NOT NULL DEFAULT 0,
                transcript_from INTEGER REFERENCES inbound (id),
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                due_at TEXT NOT NULL,
                resolved_at TEXT,
                outcome TEXT
            )""",
            "CREATE INDEX cases_by_user ON cases (channel, user_id, id)",
            "CREATE INDEX cases_by_center ON cases (center_id, status)",
            # What the resident and the mediators said about one case.
            """CREATE TABLE case_messages (
                id {pk},
                case_id INTEGER NOT NULL REFERENCES cases (id),
                author TEXT NOT NULL,
                body TEXT NOT NULL,
                attachments TEXT NOT NULL DEFAULT '[]',
                inbound_id INTEGER REFERENCES inbound (id),
                created_at TEXT NOT NULL
            )""",
            "CREATE INDEX case_messages_by_case ON case_messages (case_id, id)",
            # Append-only audit trail: one row per case transition.
            """CREATE TABLE case_events (
                id {pk},
                case_id INTEGER NOT NULL REFERENCES cases (id),
                kind TEXT NOT NULL,
                from_status TEXT,
                to_status TEXT,
                actor TEXT NOT NULL,
                detail TEXT NOT NULL DEFAULT '{{}}',
                created_at TEXT NOT NULL
            )""",
            "CREATE INDEX case_events_by_case ON case_events (case_id, id)",
            # Questions the FAQ could not answer, for the admins.
            """CREATE TABLE faq_misses (
                id {pk},
                channel TEXT NOT NULL,
                user_id TEXT NOT NULL,
                query TEXT NOT NULL,
                reason TEXT NOT NULL,
                best_id TEXT,
                best_score REAL,
                created_at TEXT NOT NULL
            )""",
        ],
    ),
    (
        2,
        "outbox states and leases, per-resident message ids, case holder, deadline index",
        [
            # A client's message id is unique per resident, not per channel: the
            # old per-channel column keeps its values and its constraint.
            "ALTER TABLE inbound RENAME COLUMN platform_msg_id TO legacy_msg_id",
            "ALTER TABLE inbound ADD COLUMN platform_msg_id TEXT",
            "UPDATE inbound SET platform_msg_id = legacy_msg_id, legacy_msg_id = NULL",
            "CREATE UNIQUE INDEX inbound_by_msg_id ON inbound (channel, user_id, platform_msg_id)",
            # The outbound table becomes the outbox: any destination, with a state.
            "ALTER TABLE outbound RENAME COLUMN user_id TO address",
            "ALTER TABLE outbound ADD COLUMN state TEXT NOT NULL DEFAULT 'pending'",
            "ALTER TABLE outbound ADD COLUMN next_attempt_at TEXT",
            "ALTER TABLE outbound ADD COLUMN lease_owner TEXT",
            "ALTER TABLE outbound ADD COLUMN lease_until TEXT",
            "ALTER TABLE outbound ADD COLUMN sending_at TEXT",
            "ALTER TABLE outbound ADD COLUMN last_error TEXT",
            "ALTER TABLE outbound ADD COLUMN resends INTEGER NOT NULL DEFAULT 0",
            # Before the outbox, every reply went out in its HTTP response.
            "UPDATE outbound SET state = 'delivered', delivered_at = created_at",
            "CREATE INDEX outbound_waiting ON outbound (state, next_attempt_at)",
            "ALTER TABLE cases ADD COLUMN assignee TEXT",
            "CREATE INDEX cases_by_due ON cases (status, due_at)",
        ],
    ),
    (
        3,
        "files residents uploaded, and the service's own secrets",
        [
            # A message may only carry a file its sender uploaded.
            """CREATE TABLE uploads (
                channel TEXT NOT NULL,
                user_id TEXT NOT NULL,
                ref TEXT NOT NULL,
                kind TEXT NOT NULL,
                size INTEGER NOT NULL,
                created_at TEXT NOT NULL,
                PRIMARY KEY (channel, user_id, ref)
            )""",
            # Generated once (e.g. the key that signs web chat tokens), kept across restarts.
            """CREATE TABLE service_secrets (
                name TEXT PRIMARY KEY,
                value TEXT NOT NULL,
                created_at TEXT NOT NULL
            )""",
        ],
    ),
    (
        4,
        "reachability of residents, files to fetch from platforms",
        [
            # A resident who blocked the bot or unsubscribed: their messages wait.
            """CREATE TABLE destinations (
                channel TEXT NOT NULL,
                address TEXT NOT NULL,
                reachable INTEGER NOT NULL,
                reason TEXT NOT NULL DEFAULT '',
                updated_at TEXT NOT NULL,
                PRIMARY KEY (channel, address)
            )""",
            # Photos and voice a resident sent on a platform, downloaded after the webhook.
            """CREATE TABLE platform_files (
                channel TEXT NOT NULL,
                platform_ref TEXT NOT NULL,
                kind TEXT NOT NULL,
                state TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                local_ref TEXT,
                size INTEGER,
                error TEXT,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                PRIMARY KEY (channel, platform_ref)
            )""",
            "CREATE INDEX platform_files_waiting ON platform_files (channel, state)",
        ],
    ),
    (
        5,
        "mediation: replies and notes on cases, rating, follow-up and archiving",
        [
            "ALTER TABLE cases ADD COLUMN first_reply_at TEXT",
            "ALTER TABLE cases ADD COLUMN rating TEXT",
            "ALTER TABLE cases ADD COLUMN rating_comment TEXT",
            "ALTER TABLE cases ADD COLUMN rated_at TEXT",
            "ALTER TABLE cases ADD COLUMN followup_due_at TEXT",
            "ALTER TABLE cases ADD COLUMN followed_up_at TEXT",
            "ALTER TABLE cases ADD COLUMN archive_due_at TEXT",
            "ALTER TABLE cases ADD COLUMN overdue_flagged_at TEXT",
            # message (to or from the resident) | note (internal) | supervision (督办)
            "ALTER TABLE case_messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'message'",
            "ALTER TABLE case_messages ADD COLUMN author_name TEXT",
            # The outbox entry that carries a mediator's message: its delivery state.
            "ALTER TABLE case_messages ADD COLUMN outbox_id INTEGER REFERENCES outbound (id)",
            "CREATE INDEX cases_followup ON cases (followup_due_at)",
            "CREATE INDEX cases_archive ON cases (archive_due_at)",
        ],
    ),
    (
        6,
        "mediator accounts, console sessions, login attempts",
        [
            """CREATE TABLE accounts (
                id {pk},
                username TEXT NOT NULL UNIQUE,
                name TEXT NOT NULL,
                center_id TEXT NOT NULL,
                role TEXT NOT NULL,
                password_hash TEXT NOT NULL,
                active INTEGER NOT NULL DEFAULT 1,
                telegram_id TEXT,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL
            )""",
            "CREATE INDEX accounts_by_center ON accounts (center_id)",
            """CREATE TABLE console_sessions (
                id TEXT PRIMARY KEY,
                account_id INTEGER NOT NULL REFERENCES accounts (id),
                csrf TEXT NOT NULL,
                created_at TEXT NOT NULL,
                expires_at TEXT NOT NULL,
                ended_at TEXT
            )""",
            """CREATE TABLE login_attempts (
                id {pk},
                username TEXT NOT NULL,
                address TEXT NOT NULL,
                succeeded INTEGER NOT NULL,
                at TEXT NOT NULL
            )""",
            "CREATE INDEX login_attempts_by_username ON login_attempts (username, at)",
            "CREATE INDEX login_attempts_by_address ON login_attempts (address, at)",
        ],
    ),
    (
        7,
        "platform updates seen once, alerts sent to mediators once",
        [
            # Updates that store no resident message (a button for details, a block,
            # an event): a platform's re-send must not act twice, even after a restart.
            """CREATE TABLE seen_updates (
                channel TEXT NOT NULL,
                key TEXT NOT NULL,
                seen_at TEXT NOT NULL,
                PRIMARY KEY (channel, key)
            )""",
            """CREATE TABLE mediator_alerts (
                account_id INTEGER NOT NULL REFERENCES accounts (id),
                case_id INTEGER NOT NULL REFERENCES cases (id),
                kind TEXT NOT NULL,
                sent_at TEXT NOT NULL,
                PRIMARY KEY (account_id, case_id, kind)
            )""",
        ],
    ),
    (
        8,
        "every FAQ decision shown to a resident and every tap on it, for the statistics",
        [
            # decision: answer | suggest | none; entry_id: the answer shown (or the
            # best suggestion); region_code: the resident's place when known.
            """CREATE TABLE faq_questions (
                id {pk},
                channel TEXT NOT NULL,
                user_id TEXT NOT NULL,
                query TEXT NOT NULL,
                decision TEXT NOT NULL,
                entry_id TEXT,
                region_code TEXT,
                asked_at TEXT NOT NULL
            )""",
            "CREATE INDEX faq_questions_by_time ON faq_questions (asked_at)",
            # kind: picked (a suggestion chosen) | useful (有用) | not_useful (没用).
            """CREATE TABLE faq_feedback (
                id {pk},
                question_id INTEGER NOT NULL REFERENCES faq_questions (id),
                kind TEXT NOT NULL,
                entry_id TEXT,
                at TEXT NOT NULL
            )""",
            "CREATE INDEX faq_feedback_by_question ON faq_feedback (question_id)",
        ],
    ),
    (
        9,
        "a Telegram forum topic per case and group; one-time codes that link mediators",
        [
            # One row per case and group: whoever inserts it (or takes over a lost or
            # stale one) creates the topic, so two senders never open two topics.
            # state: creating (by owner, since claimed_at) | open (thread_id) | lost.
            """CREATE TABLE case_topics (
                case_id INTEGER NOT NULL REFERENCES cases (id),
                chat_id TEXT NOT NULL,
                thread_id INTEGER,
                state TEXT NOT NULL,
                owner TEXT,
                claimed_at TEXT NOT NULL,
                card_message_id INTEGER,
                created_at TEXT NOT NULL,
                PRIMARY KEY (case_id, chat_id)
            )""",
            "CREATE INDEX case_topics_by_thread ON case_topics (chat_id, thread_id)",
            # Only the SHA-256 of a code is kept; used_at makes it single use.
            """CREATE TABLE telegram_link_codes (
                code_hash TEXT PRIMARY KEY,
                account_id INTEGER NOT NULL REFERENCES accounts (id),
                expires_at TEXT NOT NULL,
                used_at TEXT,
                created_at TEXT NOT NULL
            )""",
        ],
    ),
    (
        10,
        "operations: archived cases whose phone and ID numbers were removed, the health write",
        [
            # The retention rule ran on this case: its numbers are gone, its statistics stay.
            """CREATE TABLE purged_cases (
                case_id INTEGER PRIMARY KEY REFERENCES cases (id),
                purged_at TEXT NOT NULL
            )""",
            # /healthz writes here: a database that cannot take writes is unhealthy.
            """CREATE TABLE health_checks (
                name TEXT PRIMARY KEY,
                checked_at TEXT NOT NULL
            )""",
        ],
    ),
    (
        11,
        "several instances: each resident's waiting messages, platform tokens shared",
        [
            # A resident's turn takes their oldest waiting message, whatever instance it
            # reached; the index holds only messages not processed yet.
            "CREATE INDEX inbound_waiting ON inbound (channel, user_id, id)"
            " WHERE processed_at IS NULL",
            # A platform access token (WeChat's) shared by every instance: valid until
            # expires_at; one instance at a time fetches a new one (refreshing_until).
            "ALTER TABLE service_secrets ADD COLUMN expires_at TEXT",
            "ALTER TABLE service_secrets ADD COLUMN refreshing_until TEXT",
        ],
    ),
    (
        12,
        "two indexes fewer written for every message",
        [
            # Every message was indexed by processed_at, twice written per message, to
            # find the few not processed yet: inbound_waiting holds exactly those.
            "DROP INDEX inbound_unprocessed",
            # A resident's messages are found by (channel, user_id) in inbound_by_msg_id
            # too; sorting their few rows by id costs less than a third index on a
            # random key, a page written to the WAL for every message.
            "DROP INDEX inbound_by_user",
        ],
    ),
]


async def schema_version(db: SqlDatabase) -> int:
    """The newest applied migration (the table exists once ``migrate`` ran)."""
    row = await db.fetchone("SELECT MAX(version) AS v FROM schema_migrations")
    return int(row["v"] or 0) if row else 0


async def _exclusive(tx: SqlTransaction) -> None:
    """Two instances starting at once on one database never migrate together: the
    second waits here, then finds each version applied."""
    await serialize(tx, "minshi", "migrations")


assert [v for v, _, _ in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1)), (
    "migration versions must run 1, 2, 3, … without gaps: a later one would be skipped"
)


async def migrate(db: SqlDatabase) -> int:
    """Bring the schema up to the newest version; return that version."""
    async with db.transaction() as tx:
        await _exclusive(tx)
        await tx.execute(
            db.dialect.ddl(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, description TEXT NOT NULL,"
                " applied_at TEXT NOT NULL)"
            )
        )
    current = await schema_version(db)
    newest = current
    for version, description, statements in MIGRATIONS:
        if version <= current:
            continue
        async with db.transaction() as tx:
            await _exclusive(tx)
            done = await tx.fetchone(
                "SELECT version FROM schema_migrations WHERE version = ?", (version,)
            )
            if done is None:  # not applied meanwhile by another instance
                for statement in statements:
                    await tx.execute(db.dialect.ddl(statement))
                await tx.execute(
                    "INSERT INTO schema_migrations (version, description, applied_at)"
                    " VALUES (?, ?, CURRENT_TIMESTAMP)",
                    (version, description),
                )
                log.info("database migrated to version %s: %s", version, description)
        newest = version
    return newest
