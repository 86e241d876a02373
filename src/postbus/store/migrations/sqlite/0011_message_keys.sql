-- Postbus embedded store (issue 12, large folders): SORT and SEARCH keys beside the
-- parse-once record, and arrival dates in an index.
-- Mirrored by migrations/postgresql/0010_message_keys.sql.

-- One row per parse-once record whose keys were made (store/model.py MessageKeys,
-- made by mailbox/keys.py under rules numbered by `version`). A record without a
-- row, or with a row of older rules, is judged message by message as before and
-- gets its row then: existing records are backfilled on their first SORT/SEARCH
-- (the keys come from the decoded record, which SQL cannot read).
CREATE TABLE message_keys (
    meta_id           INTEGER PRIMARY KEY REFERENCES message_meta(id),
    version           INTEGER NOT NULL,
    subject           TEXT NOT NULL,
    addr_from         TEXT NOT NULL,
    addr_to           TEXT NOT NULL,
    addr_cc           TEXT NOT NULL,
    addr_bcc          TEXT NOT NULL,
    sort_subject      TEXT NOT NULL,
    sort_from         TEXT NOT NULL,
    sort_to           TEXT NOT NULL,
    sort_cc           TEXT NOT NULL,
    sort_display_from TEXT NOT NULL,
    sort_display_to   TEXT NOT NULL,
    sort_date         REAL,
    sent_day          INTEGER,
    -- The ENVELOPE as the IMAP front end writes it (without UTF8=ACCEPT), opaque
    -- here: written back by the first large FETCH that encoded it, NULL until then.
    envelope          BLOB
);

-- SEARCH SINCE/BEFORE/ON and SORT (ARRIVAL): a range scan of one folder.
CREATE INDEX messages_arrival ON messages(mailbox_id, internal_date);
