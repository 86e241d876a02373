-- Postbus embedded store, schema version 6 (issue 13): webmail sessions.
-- Mirrored by migrations/postgresql/0005_web_sessions.sql.

-- A browser session of the webmail. The session id lives only in the user's
-- cookie; the store keeps its SHA-256 (hex), so a copy of the store opens no
-- session. Kept here, not in one process's memory, so that a session survives
-- a restart and works on every worker and node (DESIGN.md).
CREATE TABLE web_sessions (
    id_hash     TEXT PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    csrf_token  TEXT NOT NULL,
    language    TEXT NOT NULL DEFAULT '',
    created     REAL NOT NULL,
    last_seen   REAL NOT NULL
);
CREATE INDEX web_sessions_account ON web_sessions (account_id);
CREATE INDEX web_sessions_last_seen ON web_sessions (last_seen);
