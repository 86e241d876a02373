"""COMPRESS (RFC 4978): raw DEFLATE on both directions after the tagged OK.

The connection layer does the compressing (``net.connection.start_deflate``);
this handler decides when. RFC 4978 §3: DEFLATE is the only algorithm (anything
else is BAD), a second COMPRESS is ``NO [COMPRESSIONACTIVE]``, and compression
starts right after the OK: what the client sent after the command line is
already compressed, so it is taken out of the receiver and inflated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from postbus.imap.outcome import Done
from postbus.imap.proto import Command, CompressArgs, ImapBad, ImapNo

if TYPE_CHECKING:
    from postbus.imap.session import ImapSession


async def compress(session: ImapSession, cmd: Command) -> Done | None:
    args = cmd.args
    assert isinstance(args, CompressArgs)
    if args.mechanism != "DEFLATE":
        raise ImapBad(f"Unknown compression mechanism {args.mechanism}")
    if session.compressed:
        raise ImapNo("DEFLATE is already active", "COMPRESSIONACTIVE")

    async def start() -> None:
        session.start_deflate(session.receiver.take_buffered())

    return Done("DEFLATE active", after=start)
