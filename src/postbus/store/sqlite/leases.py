"""Leases in the settings table (`Store.claim_lease`), as a writer job: the
write lock makes the read and the update one atomic step for every process."""

from __future__ import annotations

import sqlite3

from postbus.store.sqlite.directory import get_setting, set_setting


def claim(conn: sqlite3.Connection, name: str, holder: str, now: float, ttl: float) -> bool:
    key = f"lease.{name}"
    current = get_setting(conn, key)
    if current is not None:
        owner, _, expiry = current.partition(" ")
        if owner != holder and float(expiry) > now:
            return False
    set_setting(conn, key, f"{holder} {now + ttl!r}")
    return True
