"""The store: domains, accounts, folders, messages, queue; one contract, two backends.

`open_store(settings)` picks the backend from `[storage]`. See `contract.py` for
the invariants every backend keeps.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from postbus.store.contract import BlobWriter, Store
from postbus.store.errors import (
    AlreadyExists,
    Conflict,
    InvalidName,
    NotFound,
    OverQuota,
    StoreError,
)

if TYPE_CHECKING:
    from postbus.config import Settings

__all__ = [
    "AlreadyExists", "BlobWriter", "Conflict", "InvalidName", "NotFound", "OverQuota", "Store",
    "StoreError", "make_store",
]


def make_store(settings: Settings) -> Store:
    """The configured backend, not yet opened."""
    if settings.storage.backend == "postgresql":
        from postbus.store.postgres.backend import PostgresStore

        return PostgresStore(settings.storage.url, Path(settings.data_dir))
    from postbus.store.sqlite.backend import SqliteStore

    return SqliteStore(Path(settings.data_dir))
