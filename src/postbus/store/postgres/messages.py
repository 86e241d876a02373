"""Message writes in SQL: append, flags, expunge, copy and move.

Each function runs inside the caller's transaction and appends the `Change`s
it makes to `changes`. UIDs and mod-sequences come from an UPDATE of the
folder row, whose row lock is held until commit: appenders on any number of
nodes queue on it, so a UID is never given twice and a folder's changes commit
in mod-sequence order. The quota check and the quota counters use the account
row, locked before the folder row (see `rows.lock_rows`); the folder's own
counters (`store.counters`) change in the same UPDATE of its row that takes
the UID or mod-sequence.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from postbus.store import counters, errors
from postbus.store.model import Appended, BlobRef, Change, MessageEntry, Parsed, exceeds_quota
from postbus.store.postgres import blobs, keys, rows
from postbus.store.postgres.db import Conn

# Rounds of insert-or-find for a parse-once record racing a deleter.
META_ATTEMPTS = 5


async def meta_id(conn: Conn, blob: BlobRef, parsed: Parsed) -> int:
    """The parse-once record of `blob`, created if new, locked against deleters."""
    for _ in range(META_ATTEMPTS):
        found: int | None = await conn.fetchval(
            "INSERT INTO message_meta (blob_id, meta, header_text, body_text)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (blob_id) DO NOTHING RETURNING id",
            blob.id, parsed.meta, rows.search_text(parsed.header_text),
            rows.search_text(parsed.body_text),
        )
        if found is not None and parsed.keys is not None:
            await keys.insert(conn, found, parsed.keys)
        if found is None:
            found = await conn.fetchval(
                "SELECT id FROM message_meta WHERE blob_id = $1 FOR KEY SHARE", blob.id
            )
        if found is not None:
            return found
    raise RuntimeError(f"could not record the parse-once record of {blob.id}")


async def insert_message(
    conn: Conn,
    mailbox_id: int,
    meta: int,
    blob: BlobRef,
    flags: list[str],
    internal_date: float,
    check_quota: bool,
    changes: list[Change],
) -> Appended:
    # The account row first (lock order), with the quota check in the same statement.
    account = await conn.fetchrow(
        "UPDATE accounts SET used_bytes = used_bytes + $2, used_messages = used_messages + 1"
        " WHERE id = (SELECT account_id FROM mailboxes WHERE id = $1)"
        " RETURNING id, quota_bytes, used_bytes",
        mailbox_id, blob.size,
    )
    if account is None:
        raise errors.NotFound("no such folder")
    account_id, quota, used = account
    if check_quota and exceeds_quota(quota, used - blob.size, blob.size):
        raise errors.OverQuota("quota exceeded")  # the caller's rollback undoes the counters
    row = await conn.fetchrow(
        "WITH box AS (UPDATE mailboxes SET uid_next = uid_next + 1,"
        f" highest_modseq = highest_modseq + 1, {rows.add_counts(7)} WHERE id = $1"
        " RETURNING uid_validity, uid_next - 1 AS uid, highest_modseq)"
        " INSERT INTO messages (mailbox_id, uid, meta_id, blob_id, size, internal_date, flags,"
        " modseq) SELECT $1, box.uid, $2, $3, $4, $5, $6, box.highest_modseq FROM box"
        " RETURNING (SELECT uid_validity FROM box), uid, modseq",
        mailbox_id, meta, blob.id, blob.size, internal_date, flags,
        *counters.of_message(blob.size, flags).values(),
    )
    if row is None:
        raise errors.NotFound("no such folder")
    validity, uid, modseq = row
    changes.append(Change(account_id, mailbox_id, modseq))
    return Appended(mailbox_id, validity, uid, modseq)


async def deliver(
    conn: Conn,
    mailbox_ids: Sequence[int],
    blob: BlobRef,
    parsed: Parsed,
    internal_date: float,
    check_quota: bool,
    changes: list[Change],
) -> list[Appended | Exception]:
    """Each folder succeeds or fails on its own, its refusal in its slot."""
    await blobs.reference(conn, blob)
    return await _insert_each(conn, mailbox_ids, blob, parsed, internal_date, check_quota,
                              changes, reported=errors.StoreError)


async def deliver_message(
    conn: Conn,
    mailbox_ids: Sequence[int],
    blob: BlobRef,
    parsed: Parsed,
    internal_date: float,
    check_quota: bool,
    changes: list[Change],
) -> list[Appended | Exception]:
    """`deliver` for `Store.deliver_message`: a folder that is gone is reported
    (NotFound) and skipped; OverQuota is raised, for the caller's transaction
    to roll back."""
    return await _insert_each(conn, mailbox_ids, blob, parsed, internal_date, check_quota,
                              changes, reported=errors.NotFound)


async def _insert_each(
    conn: Conn,
    mailbox_ids: Sequence[int],
    blob: BlobRef,
    parsed: Parsed,
    internal_date: float,
    check_quota: bool,
    changes: list[Change],
    *,
    reported: type[errors.StoreError],
) -> list[Appended | Exception]:
    """One copy per existing folder, each in a savepoint: a `reported` refusal (or a
    folder deleted since the read below) undoes only that folder's counters and is
    put in its slot; any other refusal is raised."""
    owners = dict(await conn.fetch(
        "SELECT id, account_id FROM mailboxes WHERE id = ANY($1::bigint[])", list(mailbox_ids)
    ))
    results: list[Appended | Exception] = [
        errors.NotFound("no such folder") for _ in mailbox_ids
    ]
    if not owners:
        return results
    await blobs.reference(conn, blob)  # locked against garbage collection until the commit
    meta = await meta_id(conn, blob, parsed)
    # Lock order: folders of lower account ids first, whatever order the caller gave.
    order = sorted(
        (i for i, box in enumerate(mailbox_ids) if box in owners),
        key=lambda i: (owners[mailbox_ids[i]], mailbox_ids[i]),
    )
    for i in order:
        made: list[Change] = []
        try:
            async with conn.transaction():
                results[i] = await insert_message(
                    conn, mailbox_ids[i], meta, blob, [], internal_date, check_quota, made
                )
        except reported as exc:
            results[i] = exc
        changes.extend(made)
    return results


async def store_flags(
    conn: Conn,
    mailbox_id: int,
    uids: Sequence[int],
    update: Callable[[frozenset[str]], frozenset[str]],
    unchanged_since: int | None,
    changes: list[Change],
) -> tuple[list[MessageEntry], list[int]]:
    # Locking the folder row serialises every change to its messages, so the
    # read-modify-write of the flags below cannot lose a concurrent STORE.
    account_id = await conn.fetchval(
        "SELECT account_id FROM mailboxes WHERE id = $1 FOR NO KEY UPDATE", mailbox_id
    )
    if account_id is None:
        raise errors.NotFound("no such folder")
    updates: list[tuple[int, frozenset[str]]] = []
    failed: list[int] = []
    delta = counters.Counts()
    for uid, current_list, modseq, size in await conn.fetch(
        "SELECT uid, flags, modseq, size FROM messages WHERE mailbox_id = $1"
        " AND uid = ANY($2::bigint[]) ORDER BY uid",
        mailbox_id, sorted(set(uids)),
    ):
        if unchanged_since is not None and modseq > unchanged_since:
            failed.append(uid)  # RFC 7162 §3.1.3
            continue
        current = frozenset(current_list)
        new = frozenset(update(current))
        if new != current:
            updates.append((uid, new))
            delta += counters.flag_change(size, current, new)
    if not updates:
        return [], failed
    modseq = await conn.fetchval(
        f"UPDATE mailboxes SET highest_modseq = highest_modseq + 1, {rows.add_counts(2)}"
        " WHERE id = $1 RETURNING highest_modseq",
        mailbox_id, *delta.values(),
    )
    # Flags are IMAP atoms (no spaces), so a space-joined text carries each list.
    await conn.execute(
        "UPDATE messages m SET flags = string_to_array(u.flags, ' '), modseq = $4"
        " FROM unnest($2::bigint[], $3::text[]) AS u(uid, flags)"
        " WHERE m.mailbox_id = $1 AND m.uid = u.uid",
        mailbox_id, [u for u, _ in updates], [" ".join(rows.flags_list(f)) for _, f in updates],
        modseq,
    )
    changes.append(Change(account_id, mailbox_id, modseq))
    return [MessageEntry(uid, f, modseq) for uid, f in updates], failed


async def expunge(
    conn: Conn, mailbox_id: int, uids: Iterable[int], changes: list[Change]
) -> list[int]:
    account_id = await conn.fetchval("SELECT account_id FROM mailboxes WHERE id = $1", mailbox_id)
    if account_id is None:
        raise errors.NotFound("no such folder")
    await rows.lock_rows(conn, [account_id], [mailbox_id])
    removed = await conn.fetch(
        "DELETE FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[])"
        " RETURNING uid, size, meta_id, flags",
        mailbox_id, sorted(set(uids)),
    )
    if not removed:
        return []
    removed_uids = sorted(r[0] for r in removed)
    gone = counters.of_messages((r[1], r[3]) for r in removed)
    modseq = await conn.fetchval(
        f"UPDATE mailboxes SET highest_modseq = highest_modseq + 1, {rows.add_counts(2)}"
        " WHERE id = $1 RETURNING highest_modseq",
        mailbox_id, *(-gone).values(),
    )
    await conn.execute(
        "INSERT INTO expunged (mailbox_id, uid, modseq) SELECT $1, u, $3"
        " FROM unnest($2::bigint[]) AS u"
        " ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = EXCLUDED.modseq",
        mailbox_id, removed_uids, modseq,
    )
    await conn.execute(
        "UPDATE accounts SET used_bytes = used_bytes - $2, used_messages = used_messages - $3"
        " WHERE id = $1",
        account_id, gone.size, gone.messages,
    )
    await rows.drop_unused_meta(conn, (r[2] for r in removed))
    changes.append(Change(account_id, mailbox_id, modseq))
    return removed_uids


async def copy(
    conn: Conn, src: int, uids: Sequence[int], dst: int, move: bool, changes: list[Change]
) -> list[tuple[int, int]]:
    owners = dict(await conn.fetch(
        "SELECT id, account_id FROM mailboxes WHERE id = ANY($1::bigint[])", [src, dst]
    ))
    if src not in owners or dst not in owners:
        raise errors.NotFound("no such folder")
    await rows.lock_rows(conn, owners.values(), owners.keys())
    found = await conn.fetch(
        "SELECT uid, meta_id, blob_id, size, internal_date, flags FROM messages"
        " WHERE mailbox_id = $1 AND uid = ANY($2::bigint[]) ORDER BY uid",
        src, sorted(set(uids)),
    )
    if not found:
        return []
    added = counters.of_messages((r[3], r[5]) for r in found)
    # Counted against the destination now; a move gives it back to the source below.
    quota, used = await conn.fetchrow(
        "UPDATE accounts SET used_bytes = used_bytes + $2, used_messages = used_messages + $3"
        " WHERE id = $1 RETURNING quota_bytes, used_bytes",
        owners[dst], added.size, added.messages,
    )
    if not (move and owners[src] == owners[dst]) and exceeds_quota(
        quota, used - added.size, added.size
    ):
        raise errors.OverQuota("quota exceeded")
    n = len(found)
    first_uid, base_modseq = await conn.fetchrow(
        "UPDATE mailboxes SET uid_next = uid_next + $2, highest_modseq = highest_modseq + $2,"
        f" {rows.add_counts(3)} WHERE id = $1 RETURNING uid_next - $2, highest_modseq - $2",
        dst, n, *added.values(),
    )
    new_uids = list(range(first_uid, first_uid + n))
    await conn.execute(
        "INSERT INTO messages (mailbox_id, uid, meta_id, blob_id, size, internal_date, flags,"
        " modseq) SELECT $1, u.uid, u.meta_id, u.blob_id, u.size, u.internal_date,"
        " string_to_array(u.flags, ' '), u.modseq"
        " FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::bigint[],"
        " $6::double precision[], $7::text[], $8::bigint[])"
        " AS u(uid, meta_id, blob_id, size, internal_date, flags, modseq)",
        dst, new_uids, [r[1] for r in found], [r[2] for r in found], [r[3] for r in found],
        [r[4] for r in found], [" ".join(r[5]) for r in found],
        list(range(base_modseq + 1, base_modseq + n + 1)),
    )
    changes.append(Change(owners[dst], dst, base_modseq + n))
    if move:
        await expunge(conn, src, [r[0] for r in found], changes)
    return [(r[0], new) for r, new in zip(found, new_uids, strict=True)]
