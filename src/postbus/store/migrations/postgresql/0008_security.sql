-- Postbus PostgreSQL store (issue 15): login throttling, bans, sending limits.
-- Mirrors migrations/sqlite/0009_security.sql.

-- Windowed failure counters (per source, per account, per account+source; the
-- sending refusals and notifications of a mailbox). A window starts with the
-- counter's first event and ends at `expires`; a counter past it starts again.
CREATE TABLE security_counters (
    key TEXT PRIMARY KEY,
    count BIGINT NOT NULL,
    expires DOUBLE PRECISION NOT NULL
);
CREATE INDEX security_counters_expires ON security_counters (expires);

-- Source addresses (IPv4, or an IPv6 /64) refused until `until` (Unix time).
CREATE TABLE bans (
    address TEXT PRIMARY KEY,
    until DOUBLE PRECISION NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    created DOUBLE PRECISION NOT NULL
);

-- Messages and recipients submitted per scope ("mailbox:ADDRESS",
-- "domain:NAME") in the current window of `period` seconds, aligned to it.
CREATE TABLE sending_counters (
    scope TEXT NOT NULL,
    period BIGINT NOT NULL,
    window_start DOUBLE PRECISION NOT NULL,
    messages BIGINT NOT NULL,
    recipients BIGINT NOT NULL,
    PRIMARY KEY (scope, period)
);

-- Mailboxes blocked from sending until an administrator lifts the block.
CREATE TABLE sending_blocks (
    address TEXT PRIMARY KEY,
    since DOUBLE PRECISION NOT NULL,
    reason TEXT NOT NULL DEFAULT ''
);
