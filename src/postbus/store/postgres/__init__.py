"""The scale-out store backend: PostgreSQL (asyncpg) for metadata and message
bodies, LISTEN/NOTIFY for change events between nodes.

Invariants, on top of those of `postbus.store.contract`:

- Nodes share nothing but the database: bodies live in the `blobs` table, and
  a node's files under `data_dir/tmp` are only spill files of uploads in flight.
- A body is committed in its own transaction before any message or queue item
  references it (`blobs`).
- Writers take row locks in one order, account then folder then messages, so
  that several nodes writing to one account never deadlock; the folder row hands
  out UIDs and mod-sequences, so they are unique across nodes (`messages`).
- A change is announced to other nodes by a NOTIFY inside the transaction that
  made it: it is seen elsewhere exactly when it commits (`notify`).
"""

from postbus.store.postgres.backend import PostgresStore

__all__ = ["PostgresStore"]
