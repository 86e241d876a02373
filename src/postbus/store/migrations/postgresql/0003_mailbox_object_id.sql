-- Postbus scale-out store, schema version 3 (issue 11): a folder's RFC 8474 MAILBOXID.
-- Mirrors migrations/sqlite/0004_mailbox_object_id.sql (see there).
ALTER TABLE mailboxes ADD COLUMN object_id BIGINT NOT NULL DEFAULT 0;
UPDATE mailboxes SET object_id = uid_validity;
