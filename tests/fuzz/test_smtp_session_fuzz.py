"""Fuzz whole SMTP sessions (STYLE habit 8), on the MX and on submission.

An in-process server (tests/unit/smtp/harness.py) takes bursts of command lines,
pipelined as RFC 2920 allows (DATA, BDAT chunks, AUTH and STARTTLS only where a
group may end or where BDAT may follow), with random and command-shaped lines,
message bodies with NUL, bare CR/LF, dots and forged From fields, and BDAT
chunks. The client follows the replies as a real one does: it sends the body
only after 354, answers a 334 with a SASL line, upgrades after a 220 to
STARTTLS, and stops after a 421. Then it checks:

* every command line, every message body and every BDAT chunk gets exactly one
  reply, well formed (RFC 5321 §4.2: `ddd-` continuation lines, then `ddd SP`,
  all with one code), in order; after QUIT's 221 comes the end of the stream;
* nothing is stored unless a 250 to the end of DATA or to BDAT LAST said so, and
  what such a 250 named (its id) is stored: the new messages in every Inbox
  and in the outbound queue carry exactly the ids of those 250 replies;
* nothing unexpected escapes: the suite's guard (tests/conftest.py) fails the
  run on an unhandled event-loop exception or an ERROR logged by Postbus.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import re
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postbus.smtp.session import MAX_ERRORS
from postbus.store.model import INBOX
from tests.unit.smtp.harness import DOMAIN, PASSWORD, Harness, client_tls, smtp_app

FUZZ = settings(max_examples=120, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
MAX_MESSAGE_SIZE = 4096  # small, so that 552 is reached too
REPLY_LINE = re.compile(rb"\A([2-5][0-9][0-9])([ -])[^\r\n]*\r\n\Z|\A([2-5][0-9][0-9])\r\n\Z")
ACCEPTED = re.compile(r"Message accepted, id ([0-9A-F]+)\Z")
TRACE_ID = re.compile(rb"\tby mx\.example\.test \(Postbus\) with [A-Z]+ id ([0-9A-F]+)")
TIMEOUT = 20.0  # a deadlock guard, not a timed assertion
MAILBOXES = (f"anna@{DOMAIN}", f"bob@{DOMAIN}")


def _plain(user: str, password: str) -> str:
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()


_COMMANDS = [
    "EHLO client.example", "HELO client.example", "EHLO [127.0.0.1]", "EHLO",
    f"MAIL FROM:<anna@{DOMAIN}>", "MAIL FROM:<x@remote.test>", "MAIL FROM:<>",
    f"MAIL FROM:<anna+tag@{DOMAIN}> SIZE=100 BODY=8BITMIME", f"MAIL FROM:<info@{DOMAIN}> RET=HDRS",
    "MAIL FROM:<x@remote.test> SIZE=99999999", f"MAIL FROM:<bob@{DOMAIN}>", "MAIL FROM:<x@remote.test> SMTPUTF8",
    f"RCPT TO:<anna@{DOMAIN}>", f"RCPT TO:<bob@{DOMAIN}>", f"RCPT TO:<info@{DOMAIN}>",
    f"RCPT TO:<anna+news@{DOMAIN}>", "RCPT TO:<x@remote.test>", f"RCPT TO:<nobody@{DOMAIN}>",
    f"RCPT TO:<bob@{DOMAIN}> NOTIFY=SUCCESS,FAILURE", f"RCPT TO:<anna%remote.test@{DOMAIN}>",
    "RCPT TO:<anna@[127.0.0.1]>", "RSET", "NOOP", "NOOP x", "VRFY anna", "EXPN list", "HELP",
    "MAIL FROM:", "RCPT TO:", "MAIL FROM:<a@b", "", "*", "XYZZY",
]
_VERBS_WITH_FRAMING = (b"DATA", b"BDAT", b"AUTH", b"STARTTLS", b"QUIT")
_TOKENS = st.sampled_from([t.encode() for t in _COMMANDS] + [
    b" ", b"\t", b"\r", b"\x00", b"\xff", b"\xc3\xa9", b"<", b">", b"@", b":", b"=", b"0",
    b"99999999999999999999", b"SIZE=", b"BODY=BINARYMIME", b"AUTH=<>", b"ORCPT=rfc822;x@y",
])


def _no_framing(line: bytes) -> bool:
    """Random lines never carry a verb that changes how the next octets are read;
    those are sent only where the client model expects them."""
    return not line.lstrip().upper().startswith(_VERBS_WITH_FRAMING)


_LINE = st.one_of(
    st.sampled_from([t.encode() for t in _COMMANDS]),
    st.sampled_from([t.encode() for t in _COMMANDS]),
    st.lists(_TOKENS, max_size=6).map(b" ".join),
    st.binary(max_size=200),
    st.just(b"NOOP " + b"x" * 2100),  # past the line limit: one 500, then in step
).map(lambda line: line.replace(b"\n", b"")).filter(_no_framing)

_CLEAN_PIECES = [
    f"From: anna@{DOMAIN}\r\n".encode(), b"From: CEO <ceo@bank.test>\r\n", b"Sender: x@remote.test\r\n",
    b"Date: Tue, 01 Jul 2025 10:00:00 +0000\r\n", b"Subject: fuzz\r\n", b"\r\n", b"body\r\n",
    b".\r\n", b"..\r\n", b".x\r\n", b"\xc3\xa9", b"MAIL FROM:<x@remote.test>\r\n", b"x" * 78 + b"\r\n",
    (b"y" * 78 + b"\r\n") * 30,
]
_DIRTY_PIECES = [b"\n", b"\r", b"\x00", b"\n.\n", b"\r\n.\r", b"\r.\r\n"]
_BODY_PIECES = st.one_of(st.sampled_from(_CLEAN_PIECES), st.sampled_from(_CLEAN_PIECES + _DIRTY_PIECES))
_BODY = st.tuples(
    st.sampled_from([f"From: anna@{DOMAIN}\r\nSubject: s\r\n\r\n".encode()] * 3 + [b""]),
    st.one_of(st.lists(st.sampled_from(_CLEAN_PIECES), max_size=8), st.lists(_BODY_PIECES, max_size=12)),
).map(lambda t: t[0] + b"".join(t[1]))

_AUTH = st.sampled_from([
    f"AUTH PLAIN {_plain(f'anna@{DOMAIN}', PASSWORD)}", f"AUTH PLAIN {_plain(f'bob@{DOMAIN}', 'wrong')}",
    "AUTH PLAIN", "AUTH LOGIN", "AUTH CRAM-MD5", "AUTH PLAIN =", "AUTH", "auth plain !!",
]).map(str.encode)
_SASL_LINE = st.sampled_from([
    _plain(f"anna@{DOMAIN}", PASSWORD), base64.b64encode(f"anna@{DOMAIN}".encode()).decode(),
    base64.b64encode(PASSWORD.encode()).decode(), "*", "", "!!", "=",
]).map(str.encode)


@dataclass(frozen=True)
class Group:
    """Command lines sent in one write, then at most one command that ends a group
    (RFC 2920 §3.1) or BDAT chunks, which may follow anything (RFC 3030 §4.2)."""

    lines: list[bytes]
    tail: str = ""  # "", "data", "bdat", "auth", "starttls"
    body: bytes = b""
    chunks: list[tuple[bytes, bool]] = field(default_factory=list)
    auth: bytes = b""


def _chunks(body: bytes, cuts: list[int], last: bool) -> list[tuple[bytes, bool]]:
    bounds = [0, *sorted({c for c in cuts if 0 < c < len(body)}), len(body)]
    pieces = [body[a:b] for a, b in itertools.pairwise(bounds)] or [b""]
    return [(piece, last and n == len(pieces) - 1) for n, piece in enumerate(pieces)]


_ENVELOPE = st.sampled_from([
    ["RSET", f"MAIL FROM:<anna@{DOMAIN}>", f"RCPT TO:<bob@{DOMAIN}>"],
    ["RSET", f"MAIL FROM:<anna+x@{DOMAIN}>", f"RCPT TO:<info@{DOMAIN}>", "RCPT TO:<z@remote.test>"],
    ["RSET", "MAIL FROM:<x@remote.test>", f"RCPT TO:<anna+y@{DOMAIN}>", f"RCPT TO:<nobody@{DOMAIN}>"],
]).map(lambda lines: [line.encode() for line in lines])
_LEAD = st.one_of(_ENVELOPE, _ENVELOPE, st.lists(_LINE, max_size=3))  # the lines before DATA/BDAT
_DATA = st.builds(Group, _LEAD, st.just("data"), _BODY)
_BDAT = st.builds(lambda lines, body, cuts, last: Group(lines, "bdat", chunks=_chunks(body, cuts, last)),
                  _LEAD, _BODY, st.lists(st.integers(0, 3000), max_size=3),
                  st.sampled_from([True, True, False]))
_GROUP = st.one_of(
    st.builds(Group, st.lists(_LINE, min_size=1, max_size=5)),
    _DATA, _DATA, _BDAT, _BDAT,
    st.builds(lambda lines, auth: Group(lines, "auth", auth=auth), st.lists(_LINE, max_size=2), _AUTH),
    st.builds(Group, st.lists(_LINE, max_size=2), st.just("starttls")),
)
_TRANSACTION = st.sampled_from([  # a well-formed start, so that most examples reach the data
    [b"EHLO client.example", f"MAIL FROM:<anna@{DOMAIN}>".encode(), f"RCPT TO:<bob@{DOMAIN}>".encode()],
    [b"EHLO client.example", b"MAIL FROM:<x@remote.test>", f"RCPT TO:<info@{DOMAIN}>".encode(),
     f"RCPT TO:<anna+x@{DOMAIN}>".encode(), b"RCPT TO:<x@remote.test>"],
    [b"HELO client.example", f"MAIL FROM:<anna@{DOMAIN}>".encode(), b"RCPT TO:<y@remote.test>"],
    [b"EHLO client.example", f"MAIL FROM:<anna@{DOMAIN}>".encode(), f"RCPT TO:<anna@{DOMAIN}>".encode()],
    [],
])


class SessionClosed(Exception):
    pass


class FuzzClient:
    """Reads replies line by line and checks their shape as it goes."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.closed = False
        self.errors = 0  # 5xx replies so far, as the server counts them (session.MAX_ERRORS)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def reply(self, context: object) -> tuple[int, str]:
        """One reply: (code, text of its last line). A 421 ends the session."""
        code: bytes | None = None
        while True:
            line = await asyncio.wait_for(self.reader.readline(), TIMEOUT)
            assert line, ("connection closed where a reply was due", context)
            match = REPLY_LINE.match(line)
            assert match is not None, ("malformed reply line", line, context)
            this = match.group(1) or match.group(3)
            assert code is None or this == code, ("code changed inside a reply", line, context)
            code = this
            if match.group(2) != b"-":
                break
        if code == b"421":
            await self.expect_end(context)
            self.closed = True
            raise SessionClosed
        if code.startswith(b"5"):
            self.errors += 1
            if self.errors == MAX_ERRORS:  # the limit: this reply, then 421 and the close
                assert (await self.reply(context))[0] == 421, ("no 421 at the error limit", context)
        return int(code), line[4:].rstrip(b"\r\n").decode("utf-8", "replace")

    async def replies(self, n: int, context: object) -> list[tuple[int, str]]:
        return [await self.reply(context) for _ in range(n)]

    async def expect_end(self, context: object) -> None:
        try:
            rest = await asyncio.wait_for(self.reader.read(), TIMEOUT)
        except (ConnectionError, ssl.SSLError):
            rest = b""
        assert rest == b"", ("octets after the last reply", rest, context)

    async def starttls(self) -> None:
        await self.writer.start_tls(client_tls())

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, ssl.SSLError):
            pass


def _stuffed(body: bytes) -> bytes:
    """RFC 5321 §4.5.2: a "." that starts a line (after CR LF) is doubled."""
    stuffed = body.replace(b"\r\n.", b"\r\n..")
    return (b"." + stuffed if stuffed.startswith(b".") else stuffed) + b"\r\n.\r\n"


@dataclass
class StoreWatch:
    """What the store held before an example: the last UID per Inbox, the queue ids."""

    harness: Harness
    last_uid: dict[int, int] = field(default_factory=dict)
    queue_ids: set[int] = field(default_factory=set)

    async def new_ids(self) -> list[bytes]:
        """The trace ids of every message stored since the last call."""
        store = self.harness.app.store
        found: list[bytes] = []
        for address in MAILBOXES:
            account = await store.get_account(address)
            assert account is not None
            box = await store.get_mailbox(account.id, INBOX)
            assert box is not None
            uids = [e.uid for e in await store.list_messages(box.id)
                    if e.uid > self.last_uid.get(box.id, 0)]
            for info in await store.fetch_info(box.id, uids) if uids else []:
                found.append(_trace_id(await store.read_blob(info.blob_id)))
            if uids:
                self.last_uid[box.id] = max(uids)
        for item in await store.list_queue():
            if item.id not in self.queue_ids:
                self.queue_ids.add(item.id)
                found.append(_trace_id(await store.read_blob(item.blob_id)))
        return found


def _trace_id(raw: bytes) -> bytes:
    match = TRACE_ID.search(raw)
    assert match is not None, raw[:500]
    return match.group(1)


@pytest.fixture
async def fuzz_harness(tmp_path: Path) -> AsyncIterator[StoreWatch]:
    async with smtp_app(tmp_path, limits={"max_message_size": MAX_MESSAGE_SIZE}) as h:
        yield StoreWatch(h)


async def _run_group(c: FuzzClient, group: Group, accepted: set[str], sasl: list[bytes]) -> None:
    items = [line + b"\r\n" for line in group.lines]  # each gets exactly one reply
    expected = len(items)
    if group.tail == "data":
        items.append(b"DATA\r\n")
    elif group.tail == "auth":
        items.append(group.auth + b"\r\n")
    elif group.tail == "starttls":
        items.append(b"STARTTLS\r\n")
    elif group.tail == "bdat":
        items += [b"BDAT %d%s\r\n" % (len(payload), b" LAST" if last else b"") + payload
                  for payload, last in group.chunks]
    if c.errors + len(items) < MAX_ERRORS - 1:
        await c.send(b"".join(items))  # pipelined (RFC 2920)
        got = await c.replies(len(items), group)
    else:
        # This group may reach the server's error limit, after which it answers 421
        # and closes: a reply the client could lose to the reset caused by octets it
        # had already pipelined. So one at a time, as a client without PIPELINING.
        got = []
        for item in items:
            await c.send(item)
            got.append(await c.reply(group))
    finals = [got[expected + n] for n, (_, last) in enumerate(group.chunks) if last]
    code = got[-1][0] if got else 0
    if group.tail == "data" and code == 354:
        await c.send(_stuffed(group.body))
        finals.append(await c.reply(group))
    elif group.tail == "starttls" and code == 220:
        await c.starttls()
    elif group.tail == "auth":
        while code == 334:  # RFC 4954 §4: the next line is the SASL response; "*" cancels (501)
            await c.send((sasl.pop(0) if sasl else b"*") + b"\r\n")
            code = (await c.reply(group))[0]
    for n, (reply_code, text) in enumerate(got[:expected] + finals):
        match = ACCEPTED.search(text)
        assert not match or (n >= expected and reply_code == 250), (group, reply_code, text)
        if match:
            accepted.add(match.group(1))


@FUZZ
@given(listener=st.sampled_from(["smtp", "submissions"]), login=st.sampled_from([True, True, False]),
       start=_TRANSACTION,
       groups=st.lists(_GROUP, min_size=1, max_size=6), sasl=st.lists(_SASL_LINE, max_size=3))
async def test_every_command_gets_one_reply_and_only_a_250_stores(
        fuzz_harness: StoreWatch, listener: str, login: bool, start: list[bytes],
        groups: list[Group], sasl: list[bytes]) -> None:
    h = fuzz_harness.harness
    tls = client_tls() if listener == "submissions" else None
    reader, writer = await asyncio.open_connection("127.0.0.1", h.ports[listener], ssl=tls)
    c = FuzzClient(reader, writer)
    accepted: set[str] = set()
    try:
        assert (await c.reply("greeting"))[0] == 220
        if login and listener == "submissions":
            await c.send(b"EHLO client.example\r\n")
            assert (await c.reply("EHLO"))[0] == 250
            await c.send(f"AUTH PLAIN {_plain(f'anna@{DOMAIN}', PASSWORD)}\r\n".encode())
            assert (await c.reply("AUTH"))[0] == 235
        for group in [Group(start), *groups]:
            if group.lines or group.tail:
                await _run_group(c, group, accepted, list(sasl))
        await c.send(b"NOOP\r\n")
        assert (await c.reply("NOOP"))[0] == 250  # still in step
        await c.send(b"QUIT\r\n")
        assert (await c.reply("QUIT"))[0] == 221
        await c.expect_end("after QUIT")
    except SessionClosed:
        pass
    finally:
        await c.close()
    stored = await fuzz_harness.new_ids()
    assert {i.decode() for i in stored} == accepted, (stored, accepted)
