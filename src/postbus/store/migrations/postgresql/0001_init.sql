-- Postbus scale-out store, schema version 1.
-- Mirrors migrations/sqlite/0001_init.sql table for table; times are epoch seconds
-- (DOUBLE PRECISION), flags and address lists are TEXT[], message bodies live in
-- `blobs` so that every node can serve every account.

-- Trigram indexes answer IMAP SEARCH substrings. Fails loudly when the server
-- does not ship the extension (Debian: postgresql-contrib).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE domains (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name             TEXT NOT NULL UNIQUE,
    dkim_selector    TEXT NOT NULL DEFAULT '',
    dkim_private_key TEXT NOT NULL DEFAULT '',
    created          DOUBLE PRECISION NOT NULL
);

CREATE TABLE accounts (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    address       TEXT NOT NULL UNIQUE,
    domain_id     BIGINT NOT NULL REFERENCES domains(id),
    password_hash TEXT NOT NULL,
    quota_bytes   BIGINT NOT NULL,
    enabled       BOOLEAN NOT NULL DEFAULT TRUE,
    used_bytes    BIGINT NOT NULL DEFAULT 0,
    used_messages BIGINT NOT NULL DEFAULT 0,
    created       DOUBLE PRECISION NOT NULL
);
CREATE INDEX accounts_domain ON accounts(domain_id);

CREATE TABLE aliases (
    source    TEXT PRIMARY KEY,          -- local@domain, or @domain for a catch-all
    domain_id BIGINT NOT NULL REFERENCES domains(id),
    targets   TEXT[] NOT NULL
);
CREATE INDEX aliases_domain ON aliases(domain_id);

CREATE TABLE admins (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    operator      BOOLEAN NOT NULL,
    domains       TEXT[] NOT NULL DEFAULT '{}'
);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE mailboxes (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id     BIGINT NOT NULL REFERENCES accounts(id),
    name           TEXT NOT NULL,
    special_use    TEXT,
    uid_validity   BIGINT NOT NULL,
    uid_next       BIGINT NOT NULL DEFAULT 1,
    highest_modseq BIGINT NOT NULL DEFAULT 1,
    subscribed     BOOLEAN NOT NULL DEFAULT TRUE,
    UNIQUE (account_id, name)
);

-- Message bodies, content-addressed (id = lowercase hex SHA-256). `created` is
-- refreshed whenever a writer reuses a body, so garbage collection's grace
-- period covers the gap between writing a body and committing a reference.
CREATE TABLE blobs (
    id      TEXT PRIMARY KEY,
    size    BIGINT NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    data    BYTEA NOT NULL
);
CREATE INDEX blobs_created ON blobs(created);

-- The parse-once record, one per distinct body, with its search text
-- (case-folded by the backend) under trigram indexes.
CREATE TABLE message_meta (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    blob_id     TEXT NOT NULL UNIQUE,
    meta        BYTEA NOT NULL,
    header_text TEXT NOT NULL DEFAULT '',
    body_text   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX message_meta_header_trgm ON message_meta USING gin (header_text gin_trgm_ops);
CREATE INDEX message_meta_body_trgm ON message_meta USING gin (body_text gin_trgm_ops);

CREATE TABLE messages (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    mailbox_id    BIGINT NOT NULL REFERENCES mailboxes(id),
    uid           BIGINT NOT NULL,
    meta_id       BIGINT NOT NULL REFERENCES message_meta(id),
    blob_id       TEXT NOT NULL,
    size          BIGINT NOT NULL,
    internal_date DOUBLE PRECISION NOT NULL,
    flags         TEXT[] NOT NULL DEFAULT '{}',   -- sorted, distinct
    modseq        BIGINT NOT NULL,
    UNIQUE (mailbox_id, uid)
);
CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);
CREATE INDEX messages_blob ON messages(blob_id);
CREATE INDEX messages_meta ON messages(meta_id);

CREATE TABLE expunged (
    mailbox_id BIGINT NOT NULL,
    uid        BIGINT NOT NULL,
    modseq     BIGINT NOT NULL,
    PRIMARY KEY (mailbox_id, uid)
);
CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq);

CREATE TABLE queue (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sender         TEXT NOT NULL,
    blob_id        TEXT NOT NULL,
    size           BIGINT NOT NULL,
    created        DOUBLE PRECISION NOT NULL,
    next_attempt   DOUBLE PRECISION NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    envid          TEXT NOT NULL DEFAULT '',
    ret            TEXT NOT NULL DEFAULT '',
    delay_notified BOOLEAN NOT NULL DEFAULT FALSE,
    claimed_by     TEXT NOT NULL DEFAULT '',
    claimed_until  DOUBLE PRECISION NOT NULL DEFAULT 0,
    recipients     JSONB NOT NULL             -- array of recipient records
);
CREATE INDEX queue_due ON queue(next_attempt);
CREATE INDEX queue_blob ON queue(blob_id);
