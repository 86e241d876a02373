-- Postbus scale-out store, schema version 2 (issue 9): subscriptions as their own
-- per-user state, and per-folder counters on the folder row.
-- Mirrors migrations/sqlite/0003_subscriptions_counters.sql.

-- RFC 3501 §6.3.9: the server never removes a subscription on its own, so it is
-- not a property of a folder: it names a folder that may not exist (any more).
CREATE TABLE subscriptions (
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    name       TEXT NOT NULL,
    PRIMARY KEY (account_id, name)
);

INSERT INTO subscriptions (account_id, name)
    SELECT account_id, name FROM mailboxes WHERE subscribed;

-- Counters kept in the same transaction as every change to the folder's
-- messages (store/counters.py), so STATUS and SELECT read one row.
ALTER TABLE mailboxes
    DROP COLUMN subscribed,
    ADD COLUMN messages     BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN unseen       BIGINT NOT NULL DEFAULT 0,  -- without \Seen
    ADD COLUMN size         BIGINT NOT NULL DEFAULT 0,  -- octets
    ADD COLUMN deleted      BIGINT NOT NULL DEFAULT 0,  -- with \Deleted
    ADD COLUMN deleted_size BIGINT NOT NULL DEFAULT 0;  -- their octets

UPDATE mailboxes b SET
    messages = c.messages, unseen = c.unseen, size = c.size,
    deleted = c.deleted, deleted_size = c.deleted_size
FROM (
    SELECT mailbox_id,
           count(*) AS messages,
           count(*) FILTER (WHERE NOT '\Seen' = ANY(flags)) AS unseen,
           sum(size) AS size,
           count(*) FILTER (WHERE '\Deleted' = ANY(flags)) AS deleted,
           COALESCE(sum(size) FILTER (WHERE '\Deleted' = ANY(flags)), 0) AS deleted_size
    FROM messages GROUP BY mailbox_id
) AS c
WHERE c.mailbox_id = b.id;
