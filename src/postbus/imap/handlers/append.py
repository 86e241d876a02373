"""APPEND with MULTIAPPEND (RFC 9051 §6.3.12, RFC 3502) and APPENDUID (RFC 4315 §3).

Each message is copied out of the receiver's literal buffer once and handed
to ``postbus.delivery.ingest.ingest_bytes`` (a durable blob, parsed once).
The size limit (APPENDLIMIT = ``limits.max_message_size``, RFC 7889) is
enforced by the receiver before the octets are buffered (``NO [TOOBIG]``);
quota by the store (``NO [OVERQUOTA]``, RFC 9208 §4.2).  MULTIAPPEND is all
or nothing: if one message fails, the ones already added are removed again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from postbus.delivery.ingest import ingest_bytes
from postbus.imap.outcome import Done
from postbus.imap.proto import AppendArgs, Command, ImapNo, format_set
from postbus.store.model import Appended

if TYPE_CHECKING:
    from postbus.imap.session import ImapSession


async def append(session: ImapSession, cmd: Command) -> Done | None:
    args = cmd.args
    assert isinstance(args, AppendArgs)
    assert session.account is not None
    store = session.store
    mailbox = await store.get_mailbox(session.account.id, args.mailbox)
    if mailbox is None:
        raise ImapNo(f"No folder named {args.mailbox}", "TRYCREATE")  # RFC 9051 §6.3.12
    limit = session.app.settings.max_message_size
    appended: list[Appended] = []
    try:
        for message in args.messages:
            if len(message.data) > limit:
                raise ImapNo(f"Message too big (limit {limit} octets)", "TOOBIG")
            if not message.data:
                raise ImapNo("An empty message cannot be stored", "CANNOT")
            ingested = await ingest_bytes(store, bytes(message.data))
            appended.append(await store.append(
                mailbox.id, ingested.blob, ingested.parsed,
                flags=[f for f in message.flags if f != "\\Recent"],
                internal_date=(message.internal_date.timestamp()
                               if message.internal_date is not None else None),
            ))
    except Exception:
        if appended:
            await store.expunge(mailbox.id, [a.uid for a in appended])
        raise
    uids = format_set(a.uid for a in appended)
    return Done(None, f"APPENDUID {appended[0].uid_validity} {uids}")
