-- Postbus embedded store, schema version 7 (issue 13, webmail writing): each
-- user's address book, webmail preferences and the addresses they wrote to.
-- Mirrored by migrations/postgresql/0006_userdata.sql. Every row belongs to one
-- account and goes with it (ON DELETE CASCADE).

CREATE TABLE contacts (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name       TEXT NOT NULL DEFAULT '',
    email      TEXT NOT NULL,
    notes      TEXT NOT NULL DEFAULT '',
    updated    REAL NOT NULL
);
CREATE INDEX contacts_account ON contacts (account_id, email);

-- One JSON document per account, read and checked by the preferences service.
CREATE TABLE user_settings (
    account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    data       TEXT NOT NULL
);

-- Addresses the user sent to, for address completion; the service keeps at
-- most a bounded number per account, the least recently used dropped first.
CREATE TABLE written_to (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    address    TEXT NOT NULL,
    name       TEXT NOT NULL DEFAULT '',
    last_used  REAL NOT NULL,
    uses       INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (account_id, address)
);
CREATE INDEX written_to_recent ON written_to (account_id, last_used);
