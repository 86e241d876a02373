-- Postbus PostgreSQL store (issue 14): when each vacation auto-reply was sent.
-- Mirrors migrations/sqlite/0012_vacation_replies.sql.

-- RFC 3834 §2 / RFC 5230 §4.1: a mailbox answers one sender at most once per
-- interval. One row per (mailbox, envelope sender); rows older than the
-- interval are dropped when the mailbox next replies, and all of a mailbox's
-- rows go with it (or when its vacation rule is set or cleared).
CREATE TABLE vacation_replies (
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    sender TEXT NOT NULL,
    sent_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (account_id, sender)
);
