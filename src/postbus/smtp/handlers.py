"""The SMTP command table and the handlers of the session-level commands.

`COMMANDS` maps each verb to its handler and the session states that allow it
(STYLE habit 4: which states allow a command is data, not scattered `if`s).
States: connect (before HELO/EHLO), ready, mail (sender given), rcpt (at least
one recipient accepted), bdat (a BDAT transfer has begun). A command outside
its states gets 503 5.5.1 with a text saying what was expected.

Handlers take the session and the parsed command and return a Reply, None (the
reply is written later, e.g. after a BDAT chunk), or a coroutine. They raise
`Refusal`/`CloseConnection` to say no.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from postbus.delivery.trace import address_literal
from postbus.security.sending import SendingRefused
from postbus.smtp import auth, data, policy
from postbus.smtp.errors import Refusal
from postbus.smtp.proto import (
    Command,
    CommandLine,
    Ehlo,
    Helo,
    Mail,
    Rcpt,
    Reply,
    ehlo_reply,
    helo_reply,
    parse_command,
)
from postbus.smtp.proto.replies import AUTH_REQUIRED as AUTH_REQUIRED_REPLY
from postbus.smtp.proto.replies import (
    BARE_LF_IN_COMMAND,
    BYE,
    CANNOT_VRFY,
    HELP,
    MESSAGE_TOO_BIG,
    NO_VALID_RECIPIENTS,
    NOT_IMPLEMENTED,
    OK,
    READY_FOR_TLS,
    RECIPIENT_OK,
    SENDER_OK,
    STARTTLS_REQUIRED,
    TOO_MANY_RECIPIENTS,
)
from postbus.smtp.transaction import Transaction

if TYPE_CHECKING:
    from postbus.smtp.session import Result, SmtpSession

MAX_RECIPIENTS = 1000  # per message; RFC 5321 §4.5.3.1.8 asks for at least 100
TLS_ACTIVE = Reply(503, "5.5.1", "TLS is already active")
BINARYMIME_UNSUPPORTED = Reply(555, "5.5.4", "BODY=BINARYMIME is not supported")

SEQUENCE_REPLIES = {
    "connect": Reply(503, "5.5.1", "Send EHLO or HELO first"),
    "ready": Reply(503, "5.5.1", "Send MAIL FROM first"),
    "mail": Reply(503, "5.5.1", "Not allowed in a mail transaction: send RSET first"),
    "rcpt": Reply(503, "5.5.1", "Not allowed in a mail transaction: send RSET first"),
    "bdat": Reply(503, "5.5.1", "BDAT transfer in progress: send BDAT or RSET"),
}
MAIL_TWICE = Reply(503, "5.5.1", "Sender already given: send RSET first")

Handler = Callable[["SmtpSession", Any], "Result"]
ANY = frozenset({"connect", "ready", "mail", "rcpt", "bdat"})
NOT_BDAT = ANY - {"bdat"}


def command(s: SmtpSession, event: CommandLine) -> Result:
    """Parse one command line and dispatch it through COMMANDS."""
    if event.bare_lf:
        return BARE_LF_IN_COMMAND  # a bare LF is never a line end here (smuggling defence)
    tx = s.tx
    cmd = parse_command(event.line, smtputf8=bool(tx is not None and tx.params.smtputf8))
    handler, states = COMMANDS[cmd.verb]
    state = s.state
    if state not in states:
        if cmd.verb == "MAIL" and state in ("mail", "rcpt"):
            return MAIL_TWICE
        if cmd.verb == "DATA" and state == "mail":
            return NO_VALID_RECIPIENTS  # RFC 2920 §3.1
        return SEQUENCE_REPLIES[state]
    return handler(s, cmd)


def extensions(s: SmtpSession) -> list[str]:
    """RFC 5321 §4.1.1.1 ehlo-line keywords for this connection."""
    found = [
        f"SIZE {s.cfg.max_message_size}",  # RFC 1870
        "8BITMIME",  # RFC 6152
        "SMTPUTF8",  # RFC 6531
        "PIPELINING",  # RFC 2920
        "ENHANCEDSTATUSCODES",  # RFC 2034
        "CHUNKING",  # RFC 3030
        "DSN",  # RFC 3461
    ]
    if not s.tls:
        found.append("STARTTLS")  # RFC 3207
    elif s.cfg.submission:
        found.append("AUTH PLAIN LOGIN")  # RFC 4954: only inside TLS, never on the MX
    return found


def ehlo(s: SmtpSession, cmd: Ehlo) -> Result:
    s.reset_transaction()  # RFC 5321 §4.1.4: EHLO in a transaction is an implicit RSET
    s.helo, s.esmtp = cmd.domain, True
    return ehlo_reply(s.cfg.hostname, extensions(s), greet=f"Hello {address_literal(s.peer_ip)}")


def helo(s: SmtpSession, cmd: Helo) -> Result:
    s.reset_transaction()
    s.helo, s.esmtp = cmd.domain, False
    return helo_reply(s.cfg.hostname)


def mail(s: SmtpSession, cmd: Mail) -> Result:
    # RFC 4954 §4 / RFC 6409 §4.3: submission requires TLS, then AUTH, before MAIL
    if s.cfg.submission and not s.tls:
        raise Refusal(STARTTLS_REQUIRED)
    if s.cfg.submission and s.account is None:
        raise Refusal(AUTH_REQUIRED_REPLY)
    params = cmd.params
    if params.size is not None and params.size > s.cfg.max_message_size:
        raise Refusal(MESSAGE_TOO_BIG)  # RFC 1870 §6.1
    if params.body == "BINARYMIME":
        raise Refusal(BINARYMIME_UNSUPPORTED)  # RFC 3030 §3: not advertised
    if s.account is not None:
        return _submission_mail(s, cmd)
    s.tx = Transaction(cmd.path.address if cmd.path is not None else "", params)
    return SENDER_OK


async def _submission_mail(s: SmtpSession, cmd: Mail) -> Reply:
    assert s.account is not None
    try:  # a blocked mailbox, or one already over a limit, is refused before its message
        await s.app.sending.check(s.account.address)
    except SendingRefused as exc:
        s.delivery.send_notices(exc.notices)
        code = 451 if exc.enhanced.startswith("4") else 550
        raise Refusal(Reply(code, exc.enhanced, exc.text)) from None
    sender = await policy.check_sender(
        s.app.store, s.account, cmd.path,
        recipient_delimiter=s.app.settings.delivery.recipient_delimiter)
    s.tx = Transaction(sender, cmd.params)
    return SENDER_OK


def rcpt(s: SmtpSession, cmd: Rcpt) -> Result:
    tx = s.tx
    assert tx is not None
    if len(tx.recipients) >= MAX_RECIPIENTS:
        raise Refusal(TOO_MANY_RECIPIENTS)  # RFC 5321 §4.5.3.1.10: 452, the client sends the rest later
    return _rcpt(s, tx, cmd)


async def _rcpt(s: SmtpSession, tx: Transaction, cmd: Rcpt) -> Reply:
    recipient = await policy.resolve_recipient(
        s.delivery, cmd.path, cmd.params, submission=s.account is not None,
        hostname=s.cfg.hostname,
    )
    if recipient.route is not None:
        policy.check_room(recipient.route, tx.params.size)
    tx.recipients.append(recipient)
    return RECIPIENT_OK


def rset(s: SmtpSession, cmd: Command) -> Result:
    s.reset_transaction()
    return OK


def noop(s: SmtpSession, cmd: Command) -> Result:
    return OK


def quit_(s: SmtpSession, cmd: Command) -> Result:
    s.reply(BYE)
    s.close()
    return None


def vrfy(s: SmtpSession, cmd: Command) -> Result:
    return CANNOT_VRFY  # RFC 5321 §3.5.3: no address harvesting


def expn(s: SmtpSession, cmd: Command) -> Result:
    return NOT_IMPLEMENTED  # RFC 5321 §3.5.2: lists are not disclosed


def help_(s: SmtpSession, cmd: Command) -> Result:
    return HELP


def starttls(s: SmtpSession, cmd: Command) -> Result:
    if s.tls:
        raise Refusal(TLS_ACTIVE)
    s.reply(READY_FOR_TLS)
    return _start_tls(s)


async def _start_tls(s: SmtpSession) -> None:
    await s.start_tls()


COMMANDS: dict[str, tuple[Handler, frozenset[str]]] = {
    "EHLO": (ehlo, NOT_BDAT),
    "HELO": (helo, NOT_BDAT),
    "MAIL": (mail, frozenset({"ready"})),
    "RCPT": (rcpt, frozenset({"mail", "rcpt"})),
    "DATA": (data.data, frozenset({"rcpt"})),
    "BDAT": (data.bdat, ANY),  # RFC 3030 §2: the chunk is read even when it is refused
    "RSET": (rset, ANY),
    "NOOP": (noop, ANY),
    "QUIT": (quit_, ANY),
    "VRFY": (vrfy, ANY),
    "EXPN": (expn, ANY),
    "HELP": (help_, ANY),
    "STARTTLS": (starttls, frozenset({"ready", "connect"})),
    "AUTH": (auth.auth, frozenset({"ready"})),
}
