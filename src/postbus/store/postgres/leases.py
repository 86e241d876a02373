"""Leases in the settings table (`Store.claim_lease`): one statement, so the
check and the claim are atomic whichever node runs it (the row lock of the
ON CONFLICT update orders concurrent claims)."""

from __future__ import annotations

from typing import Any

_CLAIM = (
    "INSERT INTO settings (key, value) VALUES ($1, $2::text || ' ' || $4::text)"
    " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
    " WHERE split_part(settings.value, ' ', 1) = $2"
    "    OR split_part(settings.value, ' ', 2)::double precision <= $3"
    " RETURNING 1"
)


async def claim(pool: Any, name: str, holder: str, now: float, ttl: float) -> bool:
    row = await pool.fetchval(_CLAIM, f"lease.{name}", holder, now, repr(now + ttl))
    return row is not None
