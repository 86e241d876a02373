"""POP3 TRANSACTION-state commands (RFC 1939 §5, §7) and QUIT (§4, §6).

Invariants:
- Message content is streamed through the mailbox service in `CHUNK`-sized reads
  through one `DotStuffer` per response, waiting for the transport to drain
  after each chunk: a 12 MB message is never held whole, and a slow client
  holds at most a chunk plus the transport's buffer.
- The first chunk is read before "+OK" is sent, so a message that vanished
  (expunged by IMAP and collected since the snapshot) gets a clean -ERR.
- Nothing here changes the maildrop except QUIT, through `Maildrop.update()`,
  and QUIT's "+OK" is written only after that call returned.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING

from postbus.mailbox.errors import NotFound, StoreError
from postbus.pop3.maildrop import Maildrop, messages_text
from postbus.pop3.proto import DotStuffer, Pop3Command, Pop3Error, ResponseCode, ok, top_lines
from postbus.pop3.state import State

if TYPE_CHECKING:
    from postbus.pop3.session import Pop3Session

CHUNK = 64 * 1024  # octets per blob read while streaming RETR and TOP
LISTING_BATCH = 1000  # LIST/UIDL lines per write


def _maildrop(session: Pop3Session) -> Maildrop:
    assert session.maildrop is not None, "TRANSACTION state without a maildrop"
    return session.maildrop


async def stat(session: Pop3Session, command: Pop3Command) -> None:
    count, octets = _maildrop(session).stat()
    session.write(ok(f"{count} {octets}"))


async def list_(session: Pop3Session, command: Pop3Command) -> None:
    drop = _maildrop(session)
    if command.number is not None:
        session.write(ok(f"{command.number} {drop.get(command.number).size}"))
        return
    count, octets = drop.stat()
    lines = (f"{n} {m.size}" for n, m in drop.listing())
    await _write_listing(session, f"{messages_text(count)} ({octets} octets)", lines)


async def uidl(session: Pop3Session, command: Pop3Command) -> None:
    drop = _maildrop(session)
    if command.number is not None:
        message = drop.get(command.number)
        session.write(ok(f"{command.number} {drop.unique_id(message)}"))
        return
    lines = (f"{n} {drop.unique_id(m)}" for n, m in drop.listing())
    await _write_listing(session, "Unique-ID listing follows", lines)


async def retr(session: Pop3Session, command: Pop3Command) -> None:
    assert command.number is not None
    drop = _maildrop(session)
    message = drop.get(command.number)
    first = await _first_chunk(session, message.blob_id, 0, message.size)
    session.write(ok(f"{message.size} octets"))
    session.streaming = True
    stuffer = DotStuffer()
    await _stream(session, message.blob_id, first, message.size, stuffer)
    session.write(stuffer.finish())
    drop.mark_retrieved(command.number)


async def top(session: Pop3Session, command: Pop3Command) -> None:
    assert command.number is not None and command.lines is not None
    drop = _maildrop(session)
    message = drop.get(command.number)
    header_end = await drop.header_end(message)
    header = await _first_chunk(session, message.blob_id, 0, header_end)
    session.write(ok("Top of message follows"))
    session.streaming = True
    stuffer = DotStuffer()
    if len(header) < header_end:
        await _stream(session, message.blob_id, header, header_end, stuffer)
        tail = await session.app.mailboxes.read_body(
            message.blob_id, max(0, header_end - 3), min(3, header_end))
    else:
        session.write(stuffer.feed(header))
        tail = header[-3:]
    # top_lines decides from the header's last octets whether a blank line must be added
    blank = b"".join(top_lines(tail, (), 0))[len(tail):]
    session.write(stuffer.feed(blank))
    await _stream_lines(session, message.blob_id, header_end, message.size, command.lines, stuffer)
    session.write(stuffer.finish())


async def dele(session: Pop3Session, command: Pop3Command) -> None:
    assert command.number is not None
    _maildrop(session).delete(command.number)
    session.write(ok(f"Message {command.number} deleted"))


async def noop(session: Pop3Session, command: Pop3Command) -> None:
    session.write(ok())


async def rset(session: Pop3Session, command: Pop3Command) -> None:
    drop = _maildrop(session)
    drop.reset()
    count, octets = drop.stat()
    session.write(ok(f"Maildrop has {messages_text(count)} ({octets} octets)"))


async def quit(session: Pop3Session, command: Pop3Command) -> None:
    session.finished = True
    if session.state is not State.TRANSACTION:
        session.write(ok("Postbus POP3 signing off"))
        return
    session.state = State.UPDATE  # RFC 1939 §6
    try:
        left = await _maildrop(session).update()
    except StoreError as exc:
        session.log.info("QUIT update failed: %s: %s", type(exc).__name__, exc)
        raise Pop3Error("Deleted messages were not all removed", ResponseCode.SYS_TEMP) from None
    # RFC 1939 §6: the lock is released with the update; before the reply, so that a
    # client reconnecting at once (curl does, per message) is not refused [IN-USE].
    await session.release_maildrop()
    session.write(ok(f"Postbus POP3 signing off ({messages_text(left)} left)"))


# -- streaming -----------------------------------------------------------------------
async def _first_chunk(session: Pop3Session, blob_id: str, start: int, end: int) -> bytes:
    try:
        return await session.app.mailboxes.read_body(blob_id, start, min(CHUNK, end - start))
    except (FileNotFoundError, NotFound):
        raise Pop3Error("Message was removed by another session") from None


async def _stream(
    session: Pop3Session, blob_id: str, chunk: bytes, end: int, stuffer: DotStuffer,
    start: int = 0,
) -> None:
    """Writes `chunk` (the octets from `start`) and the rest up to `end`, stuffed."""
    pos = start
    mailboxes = session.app.mailboxes
    while chunk:
        session.write(stuffer.feed(chunk))
        pos += len(chunk)
        if pos >= end:
            return
        await session.drain()
        await asyncio.sleep(0)  # let other sessions run between chunks
        chunk = await mailboxes.read_body(blob_id, pos, min(CHUNK, end - pos))


async def _stream_lines(
    session: Pop3Session, blob_id: str, start: int, end: int, lines: int, stuffer: DotStuffer
) -> None:
    """RFC 1939 §7 TOP: the first `lines` body lines; a last line without LF counts."""
    pos, remaining = start, lines
    mailboxes = session.app.mailboxes
    while remaining > 0 and pos < end:
        chunk = await mailboxes.read_body(blob_id, pos, min(CHUNK, end - pos))
        if not chunk:
            return
        pos += len(chunk)
        count = chunk.count(b"\n")
        if count >= remaining:
            cut = -1
            for _ in range(remaining):
                cut = chunk.index(b"\n", cut + 1)
            chunk = chunk[: cut + 1]
            remaining = 0
        else:
            remaining -= count
        session.write(stuffer.feed(chunk))
        await session.drain()


async def _write_listing(session: Pop3Session, status: str, lines: Iterable[str]) -> None:
    """A multi-line LIST or UIDL answer; its lines are digits and dots-free ids."""
    session.write(ok(status))
    session.streaming = True
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= LISTING_BATCH:
            session.write(("\r\n".join(batch) + "\r\n").encode())
            batch.clear()
            await session.drain()
    session.write(("".join(f"{line}\r\n" for line in batch) + ".\r\n").encode())
