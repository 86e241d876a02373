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
from postbus.mailbox.quota import QuotaReport

if TYPE_CHECKING:
    from postbus.imap.session import ImapSession

ROOT = ""


async def _report(session: ImapSession) -> QuotaReport:
    assert session.account is not None
    return await session.mailboxes.quota(session.account.id)


def _quota(report: QuotaReport) -> bytes:
    used_kib = (report.used_bytes + 1023) // 1024
    return responses.quota(ROOT, [("STORAGE", used_kib, report.limit_bytes // 1024)])


async def getquotaroot(session: ImapSession, cmd: Command) -> Done | None:
    args = cmd.args
    assert isinstance(args, MailboxArgs)
    mailbox = await get_mailbox(session, args.mailbox)
    report = await _report(session)
    session.send(responses.quotaroot(
        mailbox.name, [ROOT] if report.limited else [], utf8=session.utf8))
    if report.limited:
        session.send(_quota(report))
    return None


async def getquota(session: ImapSession, cmd: Command) -> Done | None:
    args = cmd.args
    assert isinstance(args, QuotaRootArgs)
    report = await _report(session)
    if args.root != ROOT or not report.limited:
        raise ImapNo(f"No quota root {args.root!r}", "NONEXISTENT")
    session.send(_quota(report))
    return None


async def setquota(session: ImapSession, cmd: Command) -> Done | None:
    raise ImapNo("Quotas are set by the administrator", "NOPERM")
