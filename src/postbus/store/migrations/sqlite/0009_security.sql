-- Postbus embedded store (issue 15): login throttling, bans, sending limits.
-- Mirrored by migrations/postgresql/0008_security.sql.

-- Windowed failure counters (per source, per account, per account+source; the
-- sending refusals and notifications of a mailbox). A window starts with the
-- counter's first event and ends at `expires`; a counter past it starts again.
CREATE TABLE security_counters (
    key TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    expires REAL NOT NULL
);
CREATE INDEX security_counters_expires ON security_counters (expires);

-- Source addresses (IPv4, or an IPv6 /64) refused until `until` (Unix time).
CREATE TABLE bans (
    address TEXT PRIMARY KEY,
    until REAL NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL
);

-- Messages and recipients submitted per scope ("mailbox:ADDRESS",
-- "domain:NAME") in the current window of `period` seconds, aligned to it.
CREATE TABLE sending_counters (
    scope TEXT NOT NULL,
    period INTEGER NOT NULL,
    window_start REAL NOT NULL,
    messages INTEGER NOT NULL,
    recipients INTEGER NOT NULL,
    PRIMARY KEY (scope, period)
);

-- Mailboxes blocked from sending until an administrator lifts the block.
CREATE TABLE sending_blocks (
    address TEXT PRIMARY KEY,
    since REAL NOT NULL,
    reason TEXT NOT NULL DEFAULT ''
);
