-- Postbus PostgreSQL store, schema version 7 (issue 14): the administration records.
-- Mirrors migrations/sqlite/0008_admin.sql (see there for what each table means).

CREATE TABLE audit_log (
    id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at     DOUBLE PRECISION NOT NULL,
    actor  TEXT NOT NULL,
    remote TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    domain TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_domain ON audit_log(domain, id);

CREATE TABLE api_tokens (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    admin_id BIGINT NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
    digest   TEXT NOT NULL UNIQUE,
    label    TEXT NOT NULL DEFAULT '',
    created  DOUBLE PRECISION NOT NULL
);
CREATE INDEX api_tokens_admin ON api_tokens(admin_id);

CREATE TABLE admin_totp (
    admin_id  BIGINT PRIMARY KEY REFERENCES admins(id) ON DELETE CASCADE,
    secret    TEXT NOT NULL,
    last_step BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE domain_suspensions (
    domain_id BIGINT PRIMARY KEY REFERENCES domains(id) ON DELETE CASCADE,
    since     DOUBLE PRECISION NOT NULL
);

-- Admin panel sessions: the SHA-256 of the id in the cookie, the administrator,
-- the CSRF synchroniser token, and when it was made and last used.
CREATE TABLE admin_sessions (
    id_hash    TEXT PRIMARY KEY,
    admin_id   BIGINT NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created    DOUBLE PRECISION NOT NULL,
    last_seen  DOUBLE PRECISION NOT NULL
);
CREATE INDEX admin_sessions_admin ON admin_sessions(admin_id);

INSERT INTO api_tokens (admin_id, digest, label, created)
    SELECT a.id, substr(s.key, 11), '', 0 FROM settings s JOIN admins a ON a.name = s.value
    WHERE s.key LIKE 'api_token:%';
DELETE FROM settings WHERE key LIKE 'api_token:%';
