-- Postbus embedded store (issue 14): when each mailbox last logged in.
-- Mirrored by migrations/postgresql/0012_last_login.sql.

-- Unix time of the last successful login by any protocol; NULL: never. Written
-- at most every few minutes per account and process (accounts/service.py).
ALTER TABLE accounts ADD COLUMN last_login REAL;
