-- Postbus PostgreSQL store, schema version 6 (issue 13, webmail writing): each
-- user's address book, webmail preferences and the addresses they wrote to.
-- Mirrors migrations/sqlite/0007_userdata.sql. Every row belongs to one
-- account and goes with it (ON DELETE CASCADE).

CREATE TABLE contacts (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name       TEXT NOT NULL DEFAULT '',
    email      TEXT NOT NULL,
    notes      TEXT NOT NULL DEFAULT '',
    updated    DOUBLE PRECISION NOT NULL
);
CREATE INDEX contacts_account ON contacts (account_id, email);

-- One JSON document per account, read and checked by the preferences service.
CREATE TABLE user_settings (
    account_id BIGINT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    data       TEXT NOT NULL
);

-- Addresses the user sent to, for address completion; the service keeps at
-- most a bounded number per account, the least recently used dropped first.
CREATE TABLE written_to (
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    address    TEXT NOT NULL,
    name       TEXT NOT NULL DEFAULT '',
    last_used  DOUBLE PRECISION NOT NULL,
    uses       INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (account_id, address)
);
CREATE INDEX written_to_recent ON written_to (account_id, last_used);
