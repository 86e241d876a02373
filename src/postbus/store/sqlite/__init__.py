"""The embedded store backend: SQLite in WAL mode for metadata and small bodies,
content-addressed files for big bodies.

Invariants, on top of those of `postbus.store.contract`:

- One writer thread owns every write (`db.Writer`) and group-commits the jobs
  queued meanwhile; so UIDs and mod-sequences come from the folder row
  without locks, and a job that returned has committed with `synchronous =
  FULL`.
- A body is durable no later than the transaction that first references it
  (`store.blobs`).
- The SQL lives in one module per concern (`directory`, `folders`, `messages`,
  `outbound`, `search`); `backend.SqliteStore` composes them and owns the life
  cycle, the writer and the reader threads.
"""

from postbus.store.sqlite.backend import SqliteStore

__all__ = ["SqliteStore"]
