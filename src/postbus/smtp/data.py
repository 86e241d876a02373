"""DATA and BDAT: the message content, streamed to the delivery pipeline.

DATA (RFC 5321 §4.1.1.4): after 354 the receiver yields unstuffed chunks that
go straight into the transaction's `MessageSink`; only CR LF "." CR LF ends
the data. A message with a bare CR or LF is refused (550 5.5.2) rather than
stored: the smuggling defence, and no relay behind us can be confused by it. A
message with a NUL octet is refused the same way (550 5.6.0), on every
listener: a server downstream that strips NUL would see another message.
Past the size limit the content is dropped as it arrives and the message is
refused with 552 5.3.4 when its end comes, so the client stays in step.

BDAT (RFC 3030): every chunk is read in full, even a refused one, so that its
octets are never taken for commands. A chunk that fails (too big, no valid
recipients, wrong state, bare CR/LF, NUL) fails the transaction: that chunk and
every later one until LAST or RSET get the failure reply.

The final reply (250) is sent only after `Delivery.deliver` returned, i.e.
when the message is durably in every Inbox and in the queue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from postbus.delivery.pipeline import DeliveryRefused, Envelope
from postbus.smtp import policy
from postbus.smtp.errors import Refusal
from postbus.smtp.headers import HeaderCollector
from postbus.smtp.proto import Bdat, BdatEnd, Command, DataChunk, DataEnd, Reply
from postbus.smtp.proto.replies import (
    BARE_NEWLINE_IN_DATA,
    MESSAGE_TOO_BIG,
    NO_VALID_RECIPIENTS,
    NUL_IN_DATA,
    START_MAIL_INPUT,
)
from postbus.smtp.transaction import Transaction

if TYPE_CHECKING:
    from postbus.smtp.session import Result, SmtpSession

BDAT_OUT_OF_SEQUENCE = Reply(503, "5.5.1", "Send MAIL FROM and RCPT TO before BDAT")


def _open(s: SmtpSession, tx: Transaction) -> None:
    envelope = Envelope(
        tx.mail_from, list(tx.recipients), client=s.client_info(),
        envid=tx.params.envid or "", ret=tx.params.ret or "", mx=s.cfg.mx,
        submitter=s.account.address if s.account is not None else "",
    )
    tx.envelope = envelope
    tx.sink = s.delivery.open_message(envelope)
    if s.account is not None:
        tx.header = HeaderCollector()


def data(s: SmtpSession, cmd: Command) -> Result:
    tx = s.tx
    assert tx is not None
    _open(s, tx)
    s.receiver.start_data(s.cfg.max_message_size)
    return START_MAIL_INPUT


def chunk(s: SmtpSession, event: DataChunk) -> None:
    tx = s.tx
    if tx is not None and tx.sink is not None:
        tx.sink.write(event.data)
        if tx.header is not None:
            tx.header.write(event.data)


def end_data(s: SmtpSession, event: DataEnd) -> Result:
    tx = s.tx
    assert tx is not None
    if event.too_big:
        s.reset_transaction()
        raise Refusal(MESSAGE_TOO_BIG)  # RFC 1870 §6.2 / RFC 5321 §4.5.3.1.10
    if event.bare_lf_or_cr:
        s.reset_transaction()
        raise Refusal(BARE_NEWLINE_IN_DATA)
    if event.nul:
        s.reset_transaction()
        raise Refusal(NUL_IN_DATA)
    return _finish(s, tx)


def bdat(s: SmtpSession, cmd: Bdat) -> Result:
    tx = s.tx
    failure: Reply | None = None
    if tx is None:
        failure = BDAT_OUT_OF_SEQUENCE
    elif tx.failure is not None:
        failure = tx.failure
    elif not tx.recipients:
        failure = NO_VALID_RECIPIENTS
    elif tx.bdat_size + cmd.size > s.cfg.max_message_size:
        failure = MESSAGE_TOO_BIG  # RFC 3030 §2 / RFC 1870
    s.bdat_chunk = (failure, cmd.last)
    if failure is not None:
        if tx is not None:
            tx.abort()
            tx.bdat, tx.failure = True, failure
        s.receiver.start_bdat(cmd.size, discard=True)
        return None
    assert tx is not None
    first = not tx.bdat
    if first:
        _open(s, tx)
        tx.bdat = True
    tx.bdat_size += cmd.size
    s.receiver.start_bdat(cmd.size, first=first, last=cmd.last)
    return None


def end_bdat(s: SmtpSession, event: BdatEnd) -> Result:
    assert s.bdat_chunk is not None
    failure, last = s.bdat_chunk
    s.bdat_chunk = None
    tx = s.tx
    if failure is None and (event.bare_lf_or_cr or event.nul) and tx is not None:
        failure = tx.failure = BARE_NEWLINE_IN_DATA if event.bare_lf_or_cr else NUL_IN_DATA
        tx.abort()
    if failure is not None:
        if last:
            s.reset_transaction()
        raise Refusal(failure)
    assert tx is not None
    if not last:
        return Reply(250, "2.0.0", f"{event.size} octets received")
    return _finish(s, tx)


async def _finish(s: SmtpSession, tx: Transaction) -> Reply:
    sink, envelope = tx.sink, tx.envelope
    assert sink is not None and envelope is not None
    try:
        if s.account is not None:
            await _check_header(s, tx)
        message = await sink.finish()
        outcome = await s.delivery.deliver(envelope, message)
    except DeliveryRefused as exc:
        raise Refusal(_refused_reply(exc)) from None
    finally:
        s.reset_transaction()
    return Reply(250, "2.0.0", f"Message accepted, id {outcome.id}")


async def _check_header(s: SmtpSession, tx: Transaction) -> None:
    """Submission: the originator fields, before the body becomes a blob."""
    assert s.account is not None and tx.header is not None
    if tx.header.too_large:
        raise Refusal(policy.HEADER_TOO_LARGE)
    await policy.check_header(s.app.store, s.account, tx.header.header(),
                              recipient_delimiter=s.app.settings.delivery.recipient_delimiter)


def _refused_reply(exc: DeliveryRefused) -> Reply:
    if exc.temporary:
        code = 452 if exc.enhanced.startswith("4.2.") or exc.enhanced == "4.3.1" else 451
    else:
        code = 554
    return Reply(code, exc.enhanced, exc.text)
