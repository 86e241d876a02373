"""Session life cycle: greeting, capabilities, TLS rules, login, states, errors, logout."""

from __future__ import annotations

import asyncio
import base64
import re
import ssl
from pathlib import Path

import pytest

from postbus.imap import dispatch
from postbus.imap.proto import ImapNo
from tests.unit.imap.harness import PASSWORD, USER, Client, Harness, running, tls_context

PRE_TLS = (b"IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE STARTTLS LOGINDISABLED NAMESPACE "
           b"UNSELECT UIDPLUS MOVE MULTIAPPEND CATENATE URL-PARTIAL SPECIAL-USE CREATE-SPECIAL-USE "
           b"BINARY CHILDREN LIST-EXTENDED "
           b"LIST-STATUS "
           b"ESEARCH SEARCHRES SORT SORT=DISPLAY THREAD=ORDEREDSUBJECT THREAD=REFERENCES THREAD=REFS ESORT "
           b"CONTEXT=SEARCH CONTEXT=SORT WITHIN "
           b"PREVIEW PREVIEW=FUZZY SNIPPET=FUZZY COMPRESS=DEFLATE QUOTA QUOTA=RES-STORAGE UTF8=ACCEPT STATUS=SIZE "
           b"CONDSTORE QRESYNC OBJECTID SAVEDATE NOTIFY "
           b"APPENDLIMIT=12582912")
IN_TLS = PRE_TLS.replace(b"STARTTLS LOGINDISABLED", b"AUTH=PLAIN")
AFTER_LOGIN = PRE_TLS.replace(b" STARTTLS LOGINDISABLED", b"")


async def test_greeting_carries_the_capabilities(imap: Harness) -> None:
    plain = await imap.client(login=False, service="imap")
    assert plain.greeting == b"* OK [CAPABILITY " + PRE_TLS + b"] Postbus ready\r\n"
    secure = await imap.client(login=False)
    assert secure.greeting == b"* OK [CAPABILITY " + IN_TLS + b"] Postbus ready\r\n"
    assert await secure.command("CAPABILITY") == [
        b"* CAPABILITY " + IN_TLS + b"\r\n", b"TAG OK CAPABILITY completed\r\n"]


async def test_login_needs_tls_then_starttls_allows_it(imap: Harness) -> None:
    client = await imap.client(login=False, service="imap")
    assert await client.command(f"LOGIN {USER} {PASSWORD}") == [
        b"TAG NO [PRIVACYREQUIRED] Plain-text authentication needs TLS: use STARTTLS\r\n"]
    assert await client.command("AUTHENTICATE PLAIN =") == [
        b"TAG NO [PRIVACYREQUIRED] Plain-text authentication needs TLS: use STARTTLS\r\n"]
    # Pipelined plaintext after STARTTLS is discarded (RFC 9051 §6.2.1).
    await client.send(b"t1 STARTTLS\r\nt2 NOOP\r\n")
    assert await client.response() == b"t1 OK Begin TLS negotiation now\r\n"
    await client.writer.start_tls(tls_context())
    assert await client.command("CAPABILITY") == [
        b"* CAPABILITY " + IN_TLS + b"\r\n", b"TAG OK CAPABILITY completed\r\n"]
    assert await client.command("STARTTLS") == [b"TAG BAD TLS is already active\r\n"]
    assert await client.command(f'LOGIN {USER} "{PASSWORD}"') == [
        b"TAG OK [CAPABILITY " + AFTER_LOGIN + b"] Logged in\r\n"]


async def test_login_failures_are_refused_then_the_connection_closes(imap: Harness) -> None:
    client = await imap.client(login=False)
    for _ in range(2):
        assert await client.command(f"LOGIN {USER} wrong") == [
            b"TAG NO [AUTHENTICATIONFAILED] Invalid credentials\r\n"]
    await client.send(f"x LOGIN nobody@example.test {PASSWORD}\r\n")
    assert await client.response() == b"* BYE Too many authentication failures\r\n"
    assert await client.reader.read() == b""


async def test_authenticate_plain_with_initial_response_and_continuation(imap: Harness) -> None:
    token = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
    client = await imap.client(login=False)
    assert (await client.command(f"AUTHENTICATE PLAIN {token}"))[-1] == (
        b"TAG OK [CAPABILITY " + AFTER_LOGIN + b"] Logged in\r\n")
    assert await client.command("LOGIN x y") == [
        b"TAG BAD LOGIN is not allowed in the authenticated state\r\n"]

    second = await imap.client(login=False)
    await second.send(b"s1 AUTHENTICATE PLAIN\r\n")
    assert await second.response() == b"+ \r\n"
    await second.send(token.encode() + b"\r\n")
    assert (await second.response()).startswith(b"s1 OK [CAPABILITY IMAP4rev1 ")

    third = await imap.client(login=False)
    await third.send(b"s1 AUTHENTICATE PLAIN\r\n")
    assert await third.response() == b"+ \r\n"
    await third.send(b"*\r\n")
    assert await third.response() == b"s1 BAD Authentication cancelled\r\n"
    assert await third.command("AUTHENTICATE PLAIN !!!") == [
        b"TAG BAD Invalid initial response\r\n"]
    assert await third.command("AUTHENTICATE CRAM-MD5") == [
        b"TAG NO [CANNOT] Unsupported authentication mechanism CRAM-MD5\r\n"]
    other = base64.b64encode(f"bob@example.test\0{USER}\0{PASSWORD}".encode()).decode()
    assert await third.command(f"AUTHENTICATE PLAIN {other}") == [
        b"TAG NO [AUTHORIZATIONFAILED] Not authorized to act as another user\r\n"]


async def test_commands_outside_their_state_are_bad(imap: Harness) -> None:
    client = await imap.client(login=False)
    assert await client.command("SELECT INBOX") == [
        b"TAG BAD SELECT is not allowed in the not authenticated state\r\n"]
    assert await client.command("FETCH 1 FLAGS") == [
        b"TAG BAD FETCH is not allowed in the not authenticated state\r\n"]
    await client.login()
    assert await client.command("FETCH 1 FLAGS") == [
        b"TAG BAD FETCH is not allowed in the authenticated state\r\n"]
    assert await client.command("THREAD REFERENCES UTF-8 ALL") == [
        b"TAG BAD THREAD is not allowed in the authenticated state\r\n"]
    assert await client.command("FOO") == [b"TAG BAD Unknown command FOO\r\n"]
    await client.send(b"\r\n)garbage\r\n")
    assert await client.response() == b"* BAD Missing or invalid tag\r\n"
    await client.ok("SELECT INBOX")
    assert await client.command("ENABLE UTF8=ACCEPT") == [
        b"TAG BAD ENABLE is not allowed in the selected state\r\n"]


async def test_noop_id_namespace_enable(imap: Harness) -> None:
    client = await imap.client(login=False)
    assert await client.command("NOOP") == [b"TAG OK NOOP completed\r\n"]
    assert await client.command('ID ("name" "test")') == [
        b'* ID ("name" "Postbus" "version" "0.1.0")\r\n', b"TAG OK ID completed\r\n"]
    await client.login()
    assert await client.command("NAMESPACE") == [
        b'* NAMESPACE (("" "/")) NIL NIL\r\n', b"TAG OK NAMESPACE completed\r\n"]
    assert await client.command("ENABLE CONDSTORE UTF8=ACCEPT") == [
        b"* ENABLED CONDSTORE UTF8=ACCEPT\r\n", b"TAG OK ENABLE completed\r\n"]
    assert await client.command("ENABLE UTF8=ACCEPT IMAP4rev2") == [
        b"* ENABLED IMAP4rev2\r\n", b"TAG OK ENABLE completed\r\n"]
    assert await client.command("CHECK") == [
        b"TAG BAD CHECK is not allowed in the authenticated state\r\n"]


async def test_logout(imap: Harness) -> None:
    client = await imap.client()
    assert await client.command("LOGOUT") == [
        b"* BYE Logging out\r\n", b"TAG OK LOGOUT completed\r\n"]
    assert await client.reader.read() == b""


async def test_pipelined_commands_are_answered_in_order(imap: Harness) -> None:
    client = await imap.client()
    await client.send(b"p1 NOOP\r\np2 SELECT INBOX\r\np3 NOOP\r\np4 LOGOUT\r\n")
    lines: list[bytes] = []
    while not lines or not lines[-1].startswith(b"p4 "):
        lines.append(await client.response())
    tagged = [line.split(b" ")[0] for line in lines if not line.startswith(b"*")]
    assert tagged == [b"p1", b"p2", b"p3", b"p4"]


async def test_synchronising_literal_gets_a_continuation(imap: Harness) -> None:
    client = await imap.client(login=False)
    await client.send(f"l1 LOGIN {{{len(USER)}}}\r\n".encode())
    assert await client.response() == b"+ Ready for literal data\r\n"
    await client.send(f'{USER} "{PASSWORD}"\r\n'.encode())
    assert (await client.response()).startswith(b"l1 OK [CAPABILITY ")
    # LITERAL+: no continuation
    await client.send(b"l2 CREATE {3+}\r\nabc\r\n")
    line = await client.response()
    assert line.startswith(b"l2 OK [MAILBOXID (") and line.endswith(b")] CREATE completed\r\n")


async def test_too_many_bad_commands_end_the_session(imap: Harness) -> None:
    client = await imap.client(login=False)
    await client.send(b"GET / HTTP/1.1\r\n" * 25)
    lines = []
    while True:
        try:
            lines.append(await client.response())
        except ConnectionError:
            break
    assert lines[-1] == b"* BYE Too many invalid commands\r\n"
    assert len(lines) == 21


@pytest.mark.allow_errors
async def test_a_server_fault_is_a_generic_no_and_the_session_goes_on(
    imap: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(session: object, cmd: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setitem(dispatch.TABLE, "NAMESPACE", dispatch.Rule(broken, dispatch.TABLE["NAMESPACE"].states))
    client = await imap.client()
    with caplog.at_level("ERROR", logger="postbus.imap"):
        assert await client.command("NAMESPACE") == [
            b"TAG NO [SERVERBUG] Internal server error\r\n"]
    assert re.search(r"proto=imap listener=imaps ip=127\.0\.0\.1 port=\d+ NAMESPACE failed for "
                     r"alice@example\.test", caplog.text)
    assert "RuntimeError: boom" in caplog.text  # the traceback is logged
    assert await client.command("NOOP") == [b"TAG OK NOOP completed\r\n"]


async def test_refusals_raised_by_handlers_become_no(imap: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    async def refuse(session: object, cmd: object) -> None:
        raise ImapNo("not today", "LIMIT")

    monkeypatch.setitem(dispatch.TABLE, "NOOP", dispatch.Rule(refuse, dispatch.TABLE["NOOP"].states))
    client = await imap.client(login=False)
    assert await client.command("NOOP") == [b"TAG NO [LIMIT] not today\r\n"]


async def test_shutdown_says_bye_to_idle_and_busy_sessions(tmp_path: Path) -> None:
    async with running(tmp_path / "var") as harness:
        quiet = await harness.client()
        idling = await harness.client()
        await idling.ok("SELECT INBOX")
        await idling.send(b"i1 IDLE\r\n")
        assert await idling.response() == b"+ idling\r\n"
        for session in list(harness.app.sessions):
            session.shutdown()
        assert await quiet.response() == b"* BYE Server shutting down\r\n"
        assert await idling.response() == b"* BYE Server shutting down\r\n"
        assert await quiet.reader.read() == b""
        await asyncio.wait_for(_until_no_sessions(harness), 5)


async def _until_no_sessions(harness: Harness) -> None:
    while harness.app.sessions:
        await asyncio.sleep(0.01)


async def test_autologout_before_login(tmp_path: Path) -> None:
    async with running(tmp_path / "var", command_timeout="0.3s") as harness:
        client = await harness.client(login=False)
        assert await client.response(timeout=5) == b"* BYE Autologout; idle for too long\r\n"
        assert await client.reader.read() == b""


async def test_autologout_while_idling(tmp_path: Path) -> None:
    async with running(tmp_path / "var", idle_timeout="0.5s") as harness:
        client = await harness.client()
        await client.ok("SELECT INBOX")
        await client.send(b"i1 IDLE\r\n")
        assert await client.response() == b"+ idling\r\n"
        assert await client.response(timeout=5) == b"* BYE Autologout; idle for too long\r\n"
        assert await client.reader.read() == b""
        await asyncio.wait_for(_until_no_sessions(harness), 5)


async def test_eof_after_pipelined_commands_still_answers(imap: Harness) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", imap.port("imap"))
    client = Client(reader, writer)
    await client.response()
    writer.write(b"e1 NOOP\r\ne2 CAPABILITY\r\n")
    writer.write_eof()
    data = await asyncio.wait_for(reader.read(), 5)
    assert data.startswith(b"e1 OK NOOP completed\r\n* CAPABILITY ")
    assert data.endswith(b"e2 OK CAPABILITY completed\r\n")
    writer.close()


async def test_tls_handshake_garbage_on_starttls_closes_quietly(imap: Harness) -> None:
    client = await imap.client(login=False, service="imap")
    assert await client.command("STARTTLS") == [b"TAG OK Begin TLS negotiation now\r\n"]
    await client.send(b"this is not a TLS record\r\n" * 10)
    with pytest.raises((ConnectionError, ssl.SSLError, asyncio.IncompleteReadError)):
        await client.response()
