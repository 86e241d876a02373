-- Postbus embedded store, schema version 1.
-- Kept portable: the PostgreSQL schema (migrations/postgresql) mirrors these tables
-- column for column, with BIGSERIAL/BYTEA/TIMESTAMP-free types (times are epoch seconds).

CREATE TABLE domains (
    id               INTEGER PRIMARY KEY,
    name             TEXT NOT NULL UNIQUE,
    dkim_selector    TEXT NOT NULL DEFAULT '',
    dkim_private_key TEXT NOT NULL DEFAULT '',
    created          REAL NOT NULL
);

CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY,
    address       TEXT NOT NULL UNIQUE,
    domain_id     INTEGER NOT NULL REFERENCES domains(id),
    password_hash TEXT NOT NULL,
    quota_bytes   INTEGER NOT NULL,
    enabled       INTEGER NOT NULL DEFAULT 1,
    used_bytes    INTEGER NOT NULL DEFAULT 0,
    used_messages INTEGER NOT NULL DEFAULT 0,
    created       REAL NOT NULL
);
CREATE INDEX accounts_domain ON accounts(domain_id);

CREATE TABLE aliases (
    source    TEXT PRIMARY KEY,          -- local@domain, or @domain for a catch-all
    domain_id INTEGER NOT NULL REFERENCES domains(id),
    targets   TEXT NOT NULL              -- JSON array of addresses
);
CREATE INDEX aliases_domain ON aliases(domain_id);

CREATE TABLE admins (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    operator      INTEGER NOT NULL,
    domains       TEXT NOT NULL DEFAULT '[]'   -- JSON array of domain names
);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE mailboxes (
    id             INTEGER PRIMARY KEY,
    account_id     INTEGER NOT NULL REFERENCES accounts(id),
    name           TEXT NOT NULL,
    special_use    TEXT,
    uid_validity   INTEGER NOT NULL,
    uid_next       INTEGER NOT NULL DEFAULT 1,
    highest_modseq INTEGER NOT NULL DEFAULT 1,
    subscribed     INTEGER NOT NULL DEFAULT 1,
    UNIQUE (account_id, name)
);

-- The parse-once record, one per distinct body.
CREATE TABLE message_meta (
    id      INTEGER PRIMARY KEY,
    blob_id TEXT NOT NULL UNIQUE,
    meta    BLOB NOT NULL
);

-- rowid = message_meta.id; trigram gives case-insensitive substring matching (IMAP SEARCH).
CREATE VIRTUAL TABLE message_search USING fts5(
    header, body, tokenize='trigram'
);

CREATE TABLE messages (
    id            INTEGER PRIMARY KEY,
    mailbox_id    INTEGER NOT NULL REFERENCES mailboxes(id),
    uid           INTEGER NOT NULL,
    meta_id       INTEGER NOT NULL REFERENCES message_meta(id),
    blob_id       TEXT NOT NULL,
    size          INTEGER NOT NULL,
    internal_date REAL NOT NULL,
    flags         TEXT NOT NULL DEFAULT '',   -- space-separated, sorted
    modseq        INTEGER NOT NULL,
    UNIQUE (mailbox_id, uid)
);
CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);
CREATE INDEX messages_blob ON messages(blob_id);
CREATE INDEX messages_meta ON messages(meta_id);

CREATE TABLE expunged (
    mailbox_id INTEGER NOT NULL,
    uid        INTEGER NOT NULL,
    modseq     INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, uid)
);
CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq);

CREATE TABLE queue (
    id             INTEGER PRIMARY KEY,
    sender         TEXT NOT NULL,
    blob_id        TEXT NOT NULL,
    size           INTEGER NOT NULL,
    created        REAL NOT NULL,
    next_attempt   REAL NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    envid          TEXT NOT NULL DEFAULT '',
    ret            TEXT NOT NULL DEFAULT '',
    delay_notified INTEGER NOT NULL DEFAULT 0,
    claimed_by     TEXT NOT NULL DEFAULT '',
    claimed_until  REAL NOT NULL DEFAULT 0,
    recipients     TEXT NOT NULL             -- JSON array of recipient records
);
CREATE INDEX queue_due ON queue(next_attempt);
CREATE INDEX queue_blob ON queue(blob_id);
