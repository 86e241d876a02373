-- Postbus embedded store, schema version 8 (issue 14): the administration records.
-- Mirrored by migrations/postgresql/0007_admin.sql.

-- Every change made through the administration service (CLI, API, panel): who,
-- when, from which address, what. `domain` scopes who may read the record
-- ('' for service-wide changes, which only operators read).
CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY,
    at     REAL NOT NULL,
    actor  TEXT NOT NULL,
    remote TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    domain TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_domain ON audit_log(domain, id);

-- API bearer tokens: only the SHA-256 of the token is kept (tokens are 256-bit random).
CREATE TABLE api_tokens (
    id       INTEGER PRIMARY KEY,
    admin_id INTEGER NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
    digest   TEXT NOT NULL UNIQUE,
    label    TEXT NOT NULL DEFAULT '',
    created  REAL NOT NULL
);
CREATE INDEX api_tokens_admin ON api_tokens(admin_id);

-- RFC 6238 second factor: the shared secret (base32) and the last time step
-- accepted, so that a code is good once.
CREATE TABLE admin_totp (
    admin_id  INTEGER PRIMARY KEY REFERENCES admins(id) ON DELETE CASCADE,
    secret    TEXT NOT NULL,
    last_step INTEGER NOT NULL DEFAULT 0
);

-- A suspended domain keeps its mailboxes and mail, but nobody of it logs in.
CREATE TABLE domain_suspensions (
    domain_id INTEGER PRIMARY KEY REFERENCES domains(id) ON DELETE CASCADE,
    since     REAL NOT NULL
);

-- Admin panel sessions: the SHA-256 of the id in the cookie, the administrator,
-- the CSRF synchroniser token, and when it was made and last used.
CREATE TABLE admin_sessions (
    id_hash    TEXT PRIMARY KEY,
    admin_id   INTEGER NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created    REAL NOT NULL,
    last_seen  REAL NOT NULL
);
CREATE INDEX admin_sessions_admin ON admin_sessions(admin_id);

-- Tokens made before this version lived in settings as api_token:<sha256> -> admin name.
INSERT INTO api_tokens (admin_id, digest, label, created)
    SELECT a.id, substr(s.key, 11), '', 0 FROM settings s JOIN admins a ON a.name = s.value
    WHERE s.key LIKE 'api_token:%';
DELETE FROM settings WHERE key LIKE 'api_token:%';
