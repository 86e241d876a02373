"""One mail transaction (RFC 5321 §3.3): from MAIL FROM to the end of the data or RSET.

Invariant: a transaction owns at most one open `MessageSink`; `abort` releases
it (a message that was not accepted leaves nothing behind but, at worst, an
unreferenced blob that garbage collection removes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from postbus.delivery.pipeline import Envelope, Recipient
from postbus.delivery.sink import MessageSink
from postbus.smtp.headers import HeaderCollector
from postbus.smtp.proto import MailParams, Reply


@dataclass
class Transaction:
    mail_from: str  # as sent; "" for the null reverse-path
    params: MailParams
    recipients: list[Recipient] = field(default_factory=list)
    envelope: Envelope | None = None  # fixed when the data starts
    sink: MessageSink | None = None
    header: HeaderCollector | None = None  # submission: the client's header block, for policy
    bdat: bool = False  # RFC 3030: the data is being sent in BDAT chunks
    bdat_size: int = 0  # octets announced by the BDAT commands so far
    failure: Reply | None = None  # a BDAT transfer that failed: answer every chunk with it

    def abort(self) -> None:
        if self.sink is not None:
            self.sink.abort()
            self.sink = None
