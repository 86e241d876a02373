-- Postbus PostgreSQL store (issue 15): sources each account logged in from, shared
-- by every node so that a known-good login is served first on any of them.
-- Mirrors migrations/sqlite/0014_known_sources.sql.

-- `pair` is the hex SHA-256 of the account and its source's address key
-- (security.throttle.known_key): no address is stored. Known until `until`
-- (Unix time); expired rows are removed by the hourly maintenance.
CREATE TABLE known_sources (
    pair TEXT PRIMARY KEY,
    until DOUBLE PRECISION NOT NULL
);
CREATE INDEX known_sources_until ON known_sources (until);
