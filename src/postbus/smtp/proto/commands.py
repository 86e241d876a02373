"""The SMTP commands a client can send, as typed values (RFC 5321 §4.1.1 and extensions).

Each command class names its verb in `verb`, so a session can dispatch through a
table keyed on the verb and declare the states that allow it as data. The parser
that produces these values is `parser.parse_command`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from .address import Path
from .params import MailParams, RcptParams


@dataclass(frozen=True, slots=True)
class Command:
    verb: ClassVar[str] = ""


@dataclass(frozen=True, slots=True)
class Helo(Command):
    """RFC 5321 §4.1.1.1. `valid` is False when the argument is not a Domain or
    address literal (clients often send bare or underscored names); policy decides."""

    verb: ClassVar[str] = "HELO"
    domain: str
    valid: bool


@dataclass(frozen=True, slots=True)
class Ehlo(Command):
    verb: ClassVar[str] = "EHLO"
    domain: str
    valid: bool


@dataclass(frozen=True, slots=True)
class Mail(Command):
    """RFC 5321 §4.1.1.2. `path` is None for the null reverse-path `<>`."""

    verb: ClassVar[str] = "MAIL"
    path: Path | None
    params: MailParams = field(default_factory=MailParams)


@dataclass(frozen=True, slots=True)
class Rcpt(Command):
    """RFC 5321 §4.1.1.3. `<Postmaster>` arrives as a Path with `is_postmaster`."""

    verb: ClassVar[str] = "RCPT"
    path: Path
    params: RcptParams = field(default_factory=RcptParams)


@dataclass(frozen=True, slots=True)
class Data(Command):
    verb: ClassVar[str] = "DATA"


@dataclass(frozen=True, slots=True)
class Bdat(Command):
    """RFC 3030 §2: BDAT chunk-size [LAST]."""

    verb: ClassVar[str] = "BDAT"
    size: int
    last: bool


@dataclass(frozen=True, slots=True)
class Rset(Command):
    verb: ClassVar[str] = "RSET"


@dataclass(frozen=True, slots=True)
class Noop(Command):
    verb: ClassVar[str] = "NOOP"


@dataclass(frozen=True, slots=True)
class Quit(Command):
    verb: ClassVar[str] = "QUIT"


@dataclass(frozen=True, slots=True)
class Vrfy(Command):
    verb: ClassVar[str] = "VRFY"
    argument: str


@dataclass(frozen=True, slots=True)
class Expn(Command):
    verb: ClassVar[str] = "EXPN"
    argument: str


@dataclass(frozen=True, slots=True)
class Help(Command):
    verb: ClassVar[str] = "HELP"
    topic: str | None = None


@dataclass(frozen=True, slots=True)
class StartTls(Command):
    """RFC 3207 §4."""

    verb: ClassVar[str] = "STARTTLS"


@dataclass(frozen=True, slots=True)
class Auth(Command):
    """RFC 4954 §4. `mechanism` is upper-cased; `initial_response` is the base64
    text as sent ("=" stands for an empty response), decoded by `postbus.sasl`."""

    verb: ClassVar[str] = "AUTH"
    mechanism: str
    initial_response: str | None = None
