"""SMTP AUTH (RFC 4954) with the PLAIN and LOGIN mechanisms, on submission only.

Rules: never on the MX (503: we are not a relay for anyone who can guess a
password), never in plain text (538 5.7.11, RFC 4954 §4), not twice, not in a
mail transaction. Credentials are checked by `app.accounts.authenticate`,
which throttles (security.throttle): a failure waits its growing delay there,
then gets 535 5.7.8, and after `MAX_AUTH_FAILURES` failures the connection is
closed; a banned source gets 421 4.7.0 with the ban's end and the close. Continuation lines of
the SASL exchange are read by the session's `line_handler`, with the longer
RFC 4954 line limit; "*" cancels (501).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from postbus.accounts.address import AddressError, normalize_address
from postbus.sasl import (
    Credentials,
    SaslCancelled,
    SaslError,
    ServerExchange,
    Step,
    UnknownMechanism,
    start_exchange,
)
from postbus.security.logins import log_failed_login, log_login
from postbus.security.throttle import Banned
from postbus.smtp.errors import CloseConnection, Refusal
from postbus.smtp.proto import Auth, CommandLine, LineTooLong, Reply, SmtpSyntaxError
from postbus.smtp.proto.replies import (
    ALREADY_AUTHENTICATED,
    AUTH_INVALID,
    AUTH_LINE_TOO_LONG,
    AUTH_SUCCEEDED,
    ENCRYPTION_REQUIRED,
)

if TYPE_CHECKING:
    from postbus.smtp.session import Result, SmtpSession

MAX_AUTH_FAILURES = 3  # per connection, then 421
AUTH_NOT_AVAILABLE = Reply(503, "5.5.1", "AUTH is not available on this port: use submission")
TOO_MANY_FAILURES = Reply(421, "4.7.0", "Too many failed authentications, closing connection")


def auth(s: SmtpSession, cmd: Auth) -> Result:
    if s.cfg.mx:
        raise Refusal(AUTH_NOT_AVAILABLE)
    if not s.tls:
        raise Refusal(ENCRYPTION_REQUIRED)
    if s.account is not None:
        raise Refusal(ALREADY_AUTHENTICATED)  # RFC 4954 §4
    try:
        exchange = start_exchange(cmd.mechanism)
        result = exchange.start(cmd.initial_response)
    except SaslError as error:
        raise _syntax_error(error) from None
    return _step(s, exchange, result)


def _syntax_error(error: SaslError) -> SmtpSyntaxError:
    if isinstance(error, UnknownMechanism):
        return SmtpSyntaxError(504, "5.5.4", error.text)  # RFC 4954 §6
    if isinstance(error, SaslCancelled):
        return SmtpSyntaxError(501, "5.0.0", error.text)  # RFC 4954 §4
    return SmtpSyntaxError(501, "5.5.2", error.text)


def _step(s: SmtpSession, exchange: ServerExchange, result: Step) -> Result:
    if isinstance(result, Credentials):
        return _verify(s, result, exchange.mechanism)
    s.write_raw(f"334 {result.text}\r\n".encode("ascii"))  # RFC 4954 §4 continue-req
    s.receiver.expect_auth_response()

    def next_line(s: SmtpSession, event: CommandLine | LineTooLong) -> Result:
        if isinstance(event, LineTooLong):
            raise Refusal(AUTH_LINE_TOO_LONG)
        try:
            result = exchange.step(event.line)
        except SaslError as error:
            raise _syntax_error(error) from None
        return _step(s, exchange, result)

    s.line_handler = next_line
    return None


def _same_identity(authzid: str, authcid: str) -> bool:
    try:
        return normalize_address(authzid) == normalize_address(authcid)
    except AddressError:
        return False


async def _verify(s: SmtpSession, creds: Credentials, method: str) -> Reply:
    account = None
    # RFC 4616 §2: an authorization identity other than oneself is refused
    if not creds.authzid or _same_identity(creds.authzid, creds.authcid):
        try:
            account = await s.app.accounts.authenticate(creds.authcid, creds.password,
                                                        source=s.peer)
        except Banned as banned:
            await log_failed_login(s.log, s.app.accounts, creds.authcid, method)
            raise CloseConnection(Reply(421, "4.7.0", banned.text)) from None
    else:
        await s.app.auth_failure_pause()
    if account is None:
        s.auth_failures += 1
        await log_failed_login(s.log, s.app.accounts, creds.authcid, method)
        if s.auth_failures >= MAX_AUTH_FAILURES:
            s.reply(AUTH_INVALID)
            raise CloseConnection(TOO_MANY_FAILURES)
        raise Refusal(AUTH_INVALID)
    s.account = account
    log_login(s.log, account.address, method)
    return AUTH_SUCCEEDED
