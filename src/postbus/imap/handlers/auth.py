"""STARTTLS, LOGIN and AUTHENTICATE PLAIN (RFC 9051 §6.2, RFC 4616, SASL-IR RFC 4959).

Plain-text credentials are accepted only inside TLS (implicit on ``imaps``,
after STARTTLS on ``imap``); before that LOGIN and AUTHENTICATE are refused
with ``NO [PRIVACYREQUIRED]`` (RFC 5530) and the capability list says
``LOGINDISABLED``.  A failed login waits ``security.auth_failure_delay``
(``App.auth_failure_pause``) before ``NO [AUTHENTICATIONFAILED]``; after
``MAX_AUTH_FAILURES`` the connection is closed.  Logins are throttled by
``security.throttle`` (the growing delay is waited in ``Accounts.authenticate``);
a banned source gets ``* BYE [UNAVAILABLE]`` with the ban's end (RFC 5530 §3).
Passwords never reach a log,
nor does a failed login's user name unless it is an address of ours
(``security.logins``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from postbus.imap.outcome import Done
from postbus.imap.proto import (
    AuthenticateArgs,
    AuthLine,
    Command,
    ImapBad,
    ImapBye,
    ImapNo,
    LoginArgs,
    ProtocolError,
    writer,
)
from postbus.sasl import SaslError, decode_plain, decode_response
from postbus.security.logins import log_failed_login, log_login
from postbus.security.throttle import Banned

if TYPE_CHECKING:
    from postbus.imap.session import ImapSession

#: Failed logins on one connection before it is closed.
MAX_AUTH_FAILURES = 3


async def starttls(session: ImapSession, cmd: Command) -> Done | None:
    if session.tls:
        raise ImapBad("TLS is already active")
    # RFC 9051 §6.2.1: the handshake starts right after the tagged OK.
    return Done("Begin TLS negotiation now", after=session.start_tls)


def _require_tls(session: ImapSession) -> None:
    if not session.tls:
        raise ImapNo("Plain-text authentication needs TLS: use STARTTLS", "PRIVACYREQUIRED")


async def login(session: ImapSession, cmd: Command) -> Done | None:
    args = cmd.args
    assert isinstance(args, LoginArgs)
    _require_tls(session)
    return await _authenticate(session, args.username, args.password, "LOGIN")


async def authenticate(session: ImapSession, cmd: Command) -> Done | None:
    args = cmd.args
    assert isinstance(args, AuthenticateArgs)
    if args.mechanism != "PLAIN":
        raise ImapNo(f"Unsupported authentication mechanism {args.mechanism}", "CANNOT")
    _require_tls(session)
    try:
        if args.initial_response is not None:  # SASL-IR (RFC 4959 §3)
            message = decode_response(args.initial_response or b"=", initial=True)
        else:
            session.send(writer.continuation(""))  # RFC 4616: an empty challenge
            session.receiver.expect_auth_line(cmd.tag)
            event = await session.read_event()
            if isinstance(event, ProtocolError):
                raise ImapBad(event.message)
            assert isinstance(event, AuthLine)
            if event.cancelled:  # RFC 9051 §6.2.2
                raise ImapBad("Authentication cancelled")
            message = decode_response(event.data)
        credentials = decode_plain(message)
    except SaslError as exc:
        raise ImapBad(exc.text) from None
    if credentials.authzid and credentials.authzid != credentials.authcid:
        # No proxy authentication: a user may only act as themselves.
        await log_failed_login(session.log, session.app.accounts, credentials.authcid, "PLAIN")
        await session.app.auth_failure_pause()
        raise ImapNo("Not authorized to act as another user", "AUTHORIZATIONFAILED")
    return await _authenticate(session, credentials.authcid, credentials.password, "PLAIN")


async def _authenticate(session: ImapSession, username: str, password: str, method: str) -> Done:
    try:
        account = await session.app.accounts.authenticate(username, password, source=session.peer)
    except Banned as banned:
        await log_failed_login(session.log, session.app.accounts, username, method)
        raise ImapBye(banned.text, "UNAVAILABLE") from None
    if account is None:
        session.auth_failures += 1
        await log_failed_login(session.log, session.app.accounts, username, method)
        if session.auth_failures >= MAX_AUTH_FAILURES:
            raise ImapBye("Too many authentication failures")
        raise ImapNo("Invalid credentials", "AUTHENTICATIONFAILED")
    session.login(account)
    log_login(session.log, account.address, method)
    # RFC 9051 §6.2.3: the new capability list rides on the tagged OK.
    return Done("Logged in", "CAPABILITY " + " ".join(session.capabilities()))
