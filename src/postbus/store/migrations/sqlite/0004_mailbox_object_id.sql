-- Postbus embedded store, schema version 4 (issue 11): a folder's RFC 8474 MAILBOXID.
-- Mirrored by migrations/postgresql/0003_mailbox_object_id.sql.

-- The UIDVALIDITY the folder was created with. UIDVALIDITY values come from one
-- counter for the whole store (settings.uid_validity_last), so no two folders
-- ever share it; RENAME gives a folder a new UIDVALIDITY but keeps this one, as
-- RFC 8474 §4.1 asks of MAILBOXID. Existing folders take their current one.
ALTER TABLE mailboxes ADD COLUMN object_id INTEGER NOT NULL DEFAULT 0;
UPDATE mailboxes SET object_id = uid_validity;
