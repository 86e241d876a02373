-- Postbus scale-out store, schema version 3 (issue 11): RFC 8474 MAILBOXID and RFC 8514 SAVEDATE.
-- Mirrors migrations/sqlite/0004_objectid_savedate.sql (see there).
ALTER TABLE mailboxes ADD COLUMN object_id BIGINT NOT NULL DEFAULT 0;
UPDATE mailboxes SET object_id = uid_validity;

-- RFC 8514 SAVEDATE (see the SQLite migration): NULL for existing messages, the
-- commit's clock for new ones (every INSERT into messages takes the default).
ALTER TABLE messages ADD COLUMN saved DOUBLE PRECISION;
ALTER TABLE messages ALTER COLUMN saved SET DEFAULT extract(epoch FROM clock_timestamp());
