"""Sans-IO SMTP pieces: command grammar, the byte receiver, replies, xtext.

Invariants: nothing here does I/O, awaits, or knows about the store or the
services; every limit is a named constant in the module that enforces it; client
errors surface as `SmtpSyntaxError` (code, enhanced code, text) and never as any
other exception; only CR LF "." CR LF ends DATA (see `datascan`).
"""

from .address import (
    MAX_DOMAIN,
    MAX_LOCAL_PART,
    MAX_PATH,
    AddressError,
    Path,
    parse_mailbox,
    parse_path,
    valid_address_literal,
    valid_domain,
)
from .commands import (
    Auth,
    Bdat,
    Command,
    Data,
    Ehlo,
    Expn,
    Helo,
    Help,
    Mail,
    Noop,
    Quit,
    Rcpt,
    Rset,
    StartTls,
    Vrfy,
)
from .errors import SmtpSyntaxError
from .params import MailParams, Orcpt, RcptParams
from .parser import parse_command
from .receiver import (
    AUTH_LINE_LIMIT,
    COMMAND_LINE_LIMIT,
    NEED_DATA,
    BdatEnd,
    CommandLine,
    DataChunk,
    DataEnd,
    Event,
    LineTooLong,
    NeedData,
    Receiver,
)
from .replies import Reply, ehlo_reply, greeting, helo_reply
from .xtext import XtextError, decode_xtext, encode_xtext

__all__ = [
    "AUTH_LINE_LIMIT", "COMMAND_LINE_LIMIT", "MAX_DOMAIN", "MAX_LOCAL_PART", "MAX_PATH",
    "NEED_DATA", "AddressError", "Auth", "Bdat", "BdatEnd", "Command", "CommandLine",
    "Data", "DataChunk", "DataEnd", "Ehlo", "Event", "Expn", "Helo", "Help", "LineTooLong",
    "Mail", "MailParams", "NeedData", "Noop", "Orcpt", "Path", "Quit", "Rcpt", "RcptParams",
    "Receiver", "Reply", "Rset", "SmtpSyntaxError", "StartTls", "Vrfy", "XtextError",
    "decode_xtext", "ehlo_reply", "encode_xtext", "greeting", "helo_reply", "parse_command",
    "parse_mailbox", "parse_path", "valid_address_literal", "valid_domain",
]
