-- Postbus embedded store (issue 14): when each vacation auto-reply was sent.
-- Mirrored by migrations/postgresql/0011_vacation_replies.sql.

-- RFC 3834 §2 / RFC 5230 §4.1: a mailbox answers one sender at most once per
-- interval. One row per (mailbox, envelope sender); rows older than the
-- interval are dropped when the mailbox next replies, and all of a mailbox's
-- rows go with it (or when its vacation rule is set or cleared).
CREATE TABLE vacation_replies (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    sender TEXT NOT NULL,
    sent_at REAL NOT NULL,
    PRIMARY KEY (account_id, sender)
) WITHOUT ROWID;
