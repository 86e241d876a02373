-- Postbus embedded store, schema version 4 (issue 11): RFC 8474 MAILBOXID and RFC 8514 SAVEDATE.
-- Mirrored by migrations/postgresql/0003_objectid_savedate.sql.

-- The UIDVALIDITY the folder was created with. UIDVALIDITY values come from one
-- counter for the whole store (settings.uid_validity_last), so no two folders
-- ever share it; RENAME gives a folder a new UIDVALIDITY but keeps this one, as
-- RFC 8474 §4.1 asks of MAILBOXID. Existing folders take their current one.
ALTER TABLE mailboxes ADD COLUMN object_id INTEGER NOT NULL DEFAULT 0;
UPDATE mailboxes SET object_id = uid_validity;

-- RFC 8514 SAVEDATE: when the message was saved in this folder (APPEND, delivery,
-- COPY, MOVE), seconds since the epoch; NULL for messages saved before this
-- version, which SEARCH and FETCH then date by their INTERNALDATE.
ALTER TABLE messages ADD COLUMN saved REAL;
