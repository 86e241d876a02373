-- Postbus embedded store, schema version 3 (issue 9): subscriptions as their own
-- per-user state, and per-folder counters on the folder row.
-- Mirrored by migrations/postgresql/0002_subscriptions_counters.sql.

-- RFC 3501 §6.3.9: the server never removes a subscription on its own, so it is
-- not a property of a folder: it names a folder that may not exist (any more).
CREATE TABLE subscriptions (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    name       TEXT NOT NULL,
    PRIMARY KEY (account_id, name)
) WITHOUT ROWID;

INSERT INTO subscriptions (account_id, name)
    SELECT account_id, name FROM mailboxes WHERE subscribed = 1;

ALTER TABLE mailboxes DROP COLUMN subscribed;

-- Kept in the same transaction as every change to the folder's messages
-- (store/counters.py), so STATUS and SELECT read one row.
ALTER TABLE mailboxes ADD COLUMN messages     INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN unseen       INTEGER NOT NULL DEFAULT 0;  -- without \Seen
ALTER TABLE mailboxes ADD COLUMN size         INTEGER NOT NULL DEFAULT 0;  -- octets
ALTER TABLE mailboxes ADD COLUMN deleted      INTEGER NOT NULL DEFAULT 0;  -- with \Deleted
ALTER TABLE mailboxes ADD COLUMN deleted_size INTEGER NOT NULL DEFAULT 0;  -- their octets

-- Flags are stored space-separated, so ' ' || flags || ' ' holds ' \Seen ' exactly
-- when the message has \Seen (instr is case-sensitive, as the backends' checks are).
UPDATE mailboxes SET
    messages = c.messages, unseen = c.unseen, size = c.size,
    deleted = c.deleted, deleted_size = c.deleted_size
FROM (
    SELECT mailbox_id,
           count(*) AS messages,
           sum(instr(' ' || flags || ' ', ' \Seen ') = 0) AS unseen,
           sum(size) AS size,
           sum(instr(' ' || flags || ' ', ' \Deleted ') > 0) AS deleted,
           sum(CASE WHEN instr(' ' || flags || ' ', ' \Deleted ') > 0 THEN size ELSE 0 END)
               AS deleted_size
    FROM messages GROUP BY mailbox_id
) AS c
WHERE c.mailbox_id = mailboxes.id;
