"""GETQUOTAROOT, GETQUOTA and SETQUOTA (RFC 9208).

One quota root per account, named ``""`` (the convention Dovecot uses and that
Apple Mail shows as the account's quota), covering every folder, Trash
included.  STORAGE is reported in KiB (RFC 9208 §5.1), rounded up for the
usage.  An account without a limit has no quota root.  Quotas are set by
administrators, never over IMAP: SETQUOTA is refused with ``NO [NOPERM]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from postbus.imap.handlers.mailbox import get_mailbox
from postbus.imap.outcome import Done
from postbus.imap.proto import Command, ImapNo, MailboxArgs, QuotaRootArgs, responses
from postbus.store.model import Account

if TYPE_CHECKING:
    from postbus.imap.session import ImapSession

ROOT = ""


async def _account(session: ImapSession) -> Account:
    assert session.account is not None
    account = await session.store.get_account_by_id(session.account.id)
    if account is None:
        raise ImapNo("The account no longer exists", "NONEXISTENT")
    return account


def _quota(account: Account) -> bytes:
    used_kib = (account.used_bytes + 1023) // 1024
    return responses.quota(ROOT, [("STORAGE", used_kib, account.quota_bytes // 1024)])


async def getquotaroot(session: ImapSession, cmd: Command) -> Done | None:
    args = cmd.args
    assert isinstance(args, MailboxArgs)
    mailbox = await get_mailbox(session, args.mailbox)
    account = await _account(session)
    limited = account.quota_bytes > 0
    session.send(responses.quotaroot(mailbox.name, [ROOT] if limited else [], utf8=session.utf8))
    if limited:
        session.send(_quota(account))
    return None


async def getquota(session: ImapSession, cmd: Command) -> Done | None:
    args = cmd.args
    assert isinstance(args, QuotaRootArgs)
    account = await _account(session)
    if args.root != ROOT or account.quota_bytes <= 0:
        raise ImapNo(f"No quota root {args.root!r}", "NONEXISTENT")
    session.send(_quota(account))
    return None


async def setquota(session: ImapSession, cmd: Command) -> Done | None:
    raise ImapNo("Quotas are set by the administrator", "NOPERM")
