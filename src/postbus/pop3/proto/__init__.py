"""Sans-IO POP3 pieces: command grammar, the line receiver, status lines, dot-stuffing.

Invariants: nothing here does I/O, awaits, or knows about the store; every limit
is a named constant in the module that enforces it; client errors surface as
`Pop3Error` and never as any other exception; message content leaves only
through `DotStuffer`, so a "." line inside a message can never end a response.
"""

from .commands import MAX_NUMBER, Pop3Command, parse_command
from .dotstuff import DotStuffer, stuff_message, terminator, top_lines
from .errors import Pop3Error
from .receiver import (
    AUTH_LINE_LIMIT,
    COMMAND_LINE_LIMIT,
    NEED_DATA,
    Event,
    Line,
    LineReceiver,
    LineTooLong,
    NeedData,
)
from .responses import MAX_RESPONSE_LINE, ResponseCode, continuation, err, multiline, ok

__all__ = [
    "AUTH_LINE_LIMIT", "COMMAND_LINE_LIMIT", "MAX_NUMBER", "MAX_RESPONSE_LINE", "NEED_DATA",
    "DotStuffer", "Event", "Line", "LineReceiver", "LineTooLong", "NeedData", "Pop3Command",
    "Pop3Error", "ResponseCode", "continuation", "err", "multiline", "ok", "parse_command",
    "stuff_message", "terminator", "top_lines",
]
