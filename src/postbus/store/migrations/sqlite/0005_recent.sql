-- Postbus embedded store, schema version 5 (issue 11): the \Recent boundary.
-- Mirrored by migrations/postgresql/0004_recent.sql.

-- RFC 3501 §2.3.2: a message is \Recent in exactly one session, the first to be
-- told of it. Messages with a UID above recent_uid have not been claimed by any
-- session yet; a session that SELECTs the folder (or is told of new messages in
-- it) claims them by moving recent_uid up to uid_next - 1, in one statement.
ALTER TABLE mailboxes ADD COLUMN recent_uid INTEGER NOT NULL DEFAULT 0;

-- Messages stored before this version are not new to anyone.
UPDATE mailboxes SET recent_uid = uid_next - 1;
