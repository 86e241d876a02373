"""POP3 AUTHORIZATION-state commands: CAPA, STLS, UTF8, USER, PASS, APOP, AUTH.

Invariants:
- Credentials are accepted only under TLS, implicit (pop3s) or after STLS
  (RFC 8314 §3, RFC 2595 §4); before that CAPA lists neither USER nor SASL,
  and USER, PASS and AUTH are refused with [AUTH] without looking at them.
- APOP is refused: the greeting carries no timestamp (RFC 1939 §7), and APOP
  would need the password in clear on the server.
- Logins are throttled by `security.throttle` (IMAP and SMTP share it): a
  failure waits its growing delay in `Accounts.authenticate`, then gets
  "-ERR [AUTH]" (RFC 3206 §4); after `MAX_AUTH_FAILURES` the connection is
  closed. A banned source gets "-ERR [SYS/TEMP]" with the ban's end, and the
  connection is closed.
- A login that succeeds takes the maildrop lock ("-ERR [IN-USE]" when another
  POP3 session holds it, RFC 2449 §8.1.1) before the maildrop snapshot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from postbus.accounts.address import normalize_address
from postbus.mailbox.errors import StoreError
from postbus.pop3.lock import locks_for
from postbus.pop3.maildrop import Maildrop, messages_text
from postbus.pop3.proto import Pop3Command, Pop3Error, ResponseCode, continuation, multiline, ok
from postbus.pop3.state import State
from postbus.sasl import Challenge, start_exchange
from postbus.security.logins import log_failed_login, log_login
from postbus.security.throttle import Banned

if TYPE_CHECKING:
    from postbus.pop3.session import Pop3Session

MAX_AUTH_FAILURES = 5  # failed logins before the connection is closed
SASL_MECHANISMS = ("PLAIN",)
_TLS_FIRST = "Plaintext authentication requires TLS: use STLS first"


def capabilities(session: Pop3Session) -> list[str]:
    """RFC 2449 §5: what this session may use now."""
    caps = ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING",  # RFC 2449 §6
            "EXPIRE NEVER", "LOGIN-DELAY 0", "UTF8 USER"]  # RFC 6856 §2
    if session.state is State.AUTHORIZATION:
        if session.tls:
            caps += ["USER", "SASL " + " ".join(SASL_MECHANISMS)]
        elif session.service == "pop3":
            caps.append("STLS")  # RFC 2595 §4
    caps.append("IMPLEMENTATION Postbus")
    return caps


async def capa(session: Pop3Session, command: Pop3Command) -> None:
    session.write(multiline("Capability list follows", capabilities(session)))


async def stls(session: Pop3Session, command: Pop3Command) -> None:
    if session.tls:
        raise Pop3Error("Already using TLS")
    if session.service != "pop3":
        raise Pop3Error("STLS is not offered here")
    session.write(ok("Begin TLS negotiation"))
    await session.start_tls()


async def utf8(session: Pop3Session, command: Pop3Command) -> None:
    # RFC 6856 §2: messages are sent as stored, which is what UTF8 mode allows
    session.utf8 = True
    session.write(ok("UTF8 enabled"))


async def user(session: Pop3Session, command: Pop3Command) -> None:
    _require_tls(session)
    assert command.name is not None
    session.pending_user = command.name
    session.write(ok("Send your password"))


async def pass_(session: Pop3Session, command: Pop3Command) -> None:
    _require_tls(session)
    name, session.pending_user = session.pending_user, None
    if name is None:
        raise Pop3Error("Send USER first")
    assert command.password is not None
    await _login(session, name, command.password, authzid="", method="USER")


async def apop(session: Pop3Session, command: Pop3Command) -> None:
    raise Pop3Error("APOP is not supported: use USER/PASS or AUTH PLAIN over TLS")


async def auth(session: Pop3Session, command: Pop3Command) -> None:
    _require_tls(session)
    if command.mechanism is None:  # a bare AUTH lists the mechanisms, as clients expect
        session.write(multiline("Supported mechanisms follow", SASL_MECHANISMS))
        return
    if command.mechanism not in SASL_MECHANISMS:
        raise Pop3Error("Unsupported authentication mechanism")
    exchange = start_exchange(command.mechanism)
    result = exchange.start(command.initial_response)
    while isinstance(result, Challenge):  # RFC 5034 §4: "+ " challenge, one line back
        session.write(continuation(result.text))
        session.receiver.expect_auth_response()
        line = await session.read_line()
        if line is None:
            raise Pop3Error("Authentication response too long")
        result = exchange.step(line)
    await _login(session, result.authcid, result.password, authzid=result.authzid,
                 method=command.mechanism)


def _require_tls(session: Pop3Session) -> None:
    if not session.tls:
        raise Pop3Error(_TLS_FIRST, ResponseCode.AUTH)


async def _login(session: Pop3Session, name: str, password: str, *, authzid: str,
                 method: str) -> None:
    app = session.app
    try:
        account = await app.accounts.authenticate(name, password, source=session.peer)
    except Banned as banned:
        await log_failed_login(session.log, app.accounts, name, method)
        session.finished = True
        raise Pop3Error(banned.text, ResponseCode.SYS_TEMP) from None
    if account is not None and authzid and _normalized(authzid) != account.address:
        account = None  # RFC 4616 §2: no acting as someone else
        await app.auth_failure_pause()
    if account is None:
        session.auth_failures += 1
        await log_failed_login(session.log, app.accounts, name, method)
        if session.auth_failures >= MAX_AUTH_FAILURES:
            session.finished = True
        raise Pop3Error("Authentication failed", ResponseCode.AUTH)
    locks = locks_for(app)
    if not await locks.acquire(account.id):
        raise Pop3Error("Maildrop is in use by another POP3 session", ResponseCode.IN_USE)
    session.locked_account = account.id
    try:
        maildrop = await Maildrop.open(app.mailboxes, account.id)
    except BaseException as exc:
        session.locked_account = None
        await locks.release(account.id)
        if isinstance(exc, StoreError):
            session.log.info("maildrop of %s not opened: %s: %s", account.address,
                             type(exc).__name__, exc)
            raise Pop3Error("Maildrop not available, try again later",
                            ResponseCode.SYS_TEMP) from None
        raise
    session.account_id = account.id
    log_login(session.log, account.address, method)
    session.maildrop = maildrop
    session.state = State.TRANSACTION
    count, octets = maildrop.stat()
    session.write(ok(f"Logged in, maildrop has {messages_text(count)} ({octets} octets)"))


def _normalized(address: str) -> str:
    try:
        return normalize_address(address)
    except ValueError:
        return ""

