-- Postbus PostgreSQL store (issue 12, large folders): SORT and SEARCH keys beside the
-- parse-once record, and arrival dates in an index.
-- Mirrors migrations/sqlite/0011_message_keys.sql; sort strings compare COLLATE "C"
-- (code point order in UTF-8), as SQLite's BINARY does.

-- A record without a row, or with a row of older rules, is judged message by
-- message as before and gets its row then (backfilled on first use: the keys
-- come from the decoded record, which SQL cannot read).
CREATE TABLE message_keys (
    meta_id           BIGINT PRIMARY KEY REFERENCES message_meta(id) ON DELETE CASCADE,
    version           INTEGER NOT NULL,
    subject           TEXT NOT NULL,
    addr_from         TEXT NOT NULL,
    addr_to           TEXT NOT NULL,
    addr_cc           TEXT NOT NULL,
    addr_bcc          TEXT NOT NULL,
    sort_subject      TEXT COLLATE "C" NOT NULL,
    sort_from         TEXT COLLATE "C" NOT NULL,
    sort_to           TEXT COLLATE "C" NOT NULL,
    sort_cc           TEXT COLLATE "C" NOT NULL,
    sort_display_from TEXT COLLATE "C" NOT NULL,
    sort_display_to   TEXT COLLATE "C" NOT NULL,
    sort_date         DOUBLE PRECISION,
    sent_day          INTEGER,
    -- The ENVELOPE as the IMAP front end writes it (without UTF8=ACCEPT), opaque
    -- here: written back by the first large FETCH that encoded it, NULL until then.
    envelope          BYTEA
);

CREATE INDEX messages_arrival ON messages(mailbox_id, internal_date);
