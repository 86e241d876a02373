"""Fuzzing a live IMAP session (STYLE habit 8).

A real Postbus runs in a background thread; each example logs in over TLS,
selects INBOX, sends a burst of random and command-shaped lines, then checks:

* every response is untagged (``* ...``), a continuation (``+ ...``) or a
  tagged OK / NO / BAD;
* the session survives: a NOOP afterwards is answered OK (unless the burst
  said LOGOUT, which must end with ``* BYE``);
* nothing unexpected escaped: the suite's guard fails the test on any
  unhandled event-loop exception or ERROR logged under ``postbus``.
"""

from __future__ import annotations

import asyncio
import re
import socket
import string
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postbus.imap.proto import COMMANDS
from postbus.server import Server
from tests.unit.imap.harness import PASSWORD, USER, message, settings_for, tls_context

FUZZ = settings(max_examples=120, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
RESPONSE = re.compile(rb"\A(?:\* |\+ |\+\r\n|[\x21-\x7e]+ (?:OK|NO|BAD)[ \r])")
LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n\Z")
TIMEOUT = 20.0


class LiveServer:
    def __init__(self, data_dir: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.server = Server(settings_for(data_dir), announce=lambda line: None)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> int:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(30)
        return self.server.bound["imaps"][1]

    async def _start(self) -> None:
        from postbus.delivery.ingest import ingest_bytes

        await self.server.start()
        app = self.server.app
        await app.store.add_domain("example.test")
        account = await app.accounts.add_user(USER, PASSWORD)
        inbox = await app.store.get_mailbox(account.id, "INBOX")
        assert inbox is not None
        for n in range(3):
            ingested = await ingest_bytes(app.store, message(f"m{n}"))
            await app.store.append(inbox.id, ingested.blob, ingested.parsed)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def live_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    live = LiveServer(tmp_path_factory.mktemp("imap-fuzz") / "var")
    try:
        yield live.start()
    finally:
        live.stop()


class Connection:
    def __init__(self, port: int) -> None:
        raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.sock = tls_context().wrap_socket(raw)
        self.file: BinaryIO = self.sock.makefile("rb")

    def response(self) -> bytes:
        out = b""
        while True:
            line = self.file.readline()
            if not line:
                raise ConnectionError("closed")
            out += line
            m = LITERAL.search(line)
            if m is None:
                return out
            out += self.file.read(int(m.group(1)))

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def until(self, tag: bytes) -> list[bytes]:
        lines = []
        while True:
            line = self.response()
            lines.append(line)
            if line.startswith(tag + b" ") or line.startswith(b"* BYE"):
                return lines

    def close(self) -> None:
        self.file.close()
        self.sock.close()


# -- what the burst is made of ---------------------------------------------------------------
PRINTABLE = st.text(alphabet=string.ascii_letters + string.digits + " ()[]<>.:*%$\\\"{}+-=&",
                    max_size=20).map(str.encode)
TOKENS = st.one_of(
    st.sampled_from([
        b"1", b"*", b"1:*", b"2,4:5", b"$", b"INBOX", b"Trash", b"()", b"(FLAGS)", b"(\\Seen)",
        b"+FLAGS", b"-FLAGS.SILENT", b"FLAGS", b"BODY[]", b"BODY.PEEK[HEADER]", b"BODY[1.2.MIME]",
        b"BINARY[1]", b"ALL", b"FAST", b"NIL", b'""', b'"a b"', b"(UID FLAGS ENVELOPE)",
        b"RETURN (MIN MAX COUNT SAVE)", b"UTF-8", b"SUBJECT", b"NOT", b"OR", b"(", b")",
        b"(SUBJECT)", b"(STATUS (MESSAGES))", b'"" "*"', b"(USE (\\Drafts))", b"&Jjo-",
        b"UNCHANGEDSINCE", b"(CHANGEDSINCE 1)", b"\\Deleted", b"$Junk", b"\xc3\xa9",
        b"QRESYNC", b"CONDSTORE", b"(CONDSTORE)", b"(QRESYNC (1 1 1:* (1 1)))",
        b"(CHANGEDSINCE 1 VANISHED)", b"MODSEQ", b"(MODSEQ EMAILID THREADID SAVEDATE)",
        b"EMAILID", b"SAVEDSINCE 1-Jan-2020", b"(MAILBOXID HIGHESTMODSEQ)",
        b"SET", b"SET STATUS", b"(personal (MessageNew MessageExpunge MailboxName))",
        b"(selected (MessageNew (UID FLAGS) MessageExpunge FlagChange))", b"(subtree INBOX NONE)",
    ]),
    st.integers(0, 2**33).map(lambda n: b"%d" % n),
    PRINTABLE,
    st.binary(max_size=24).map(lambda data: b"{%d+}\r\n%s" % (len(data), data)),
)
NAMES = st.sampled_from([*sorted(n.encode() for n in COMMANDS), b"UID FETCH", b"UID STORE", b"UID SEARCH", b"UID COPY", b"UID MOVE", b"UID EXPUNGE", b"UID SORT", b"XYZZY"])
TAGS = st.one_of(st.from_regex(rb"\Af[0-9]{1,3}\Z"), st.sampled_from([b"*", b"+", b"", b"a)"]))
COMMAND_LINES = st.builds(
    lambda tag, name, args: b" ".join([tag, name, *args]),
    TAGS, NAMES, st.lists(TOKENS, max_size=5),
)
GARBAGE_LINES = st.binary(max_size=60).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))


def terminate(line: bytes) -> bytes:
    # A line ending in "}" would announce a literal that swallows what follows.
    return (line + b" x" if line.rstrip().endswith(b"}") else line) + b"\r\n"


# Well-formed commands with random arguments, to reach the handlers themselves.
SEQ = st.lists(st.one_of(st.integers(1, 6).map(lambda n: b"%d" % n), st.just(b"*"),
                         st.tuples(st.integers(1, 6), st.sampled_from([b"*", b"2", b"9"]))
                         .map(lambda t: b"%d:%s" % t)), min_size=1, max_size=3).map(b",".join)
FOLDER = st.one_of(st.sampled_from([b"INBOX", b"Trash", b"Archive", b"a/b", b"&AOk-t&AOk-",
                                    b'"with space"', b"x/", b"INBOX/sub"]),
                   st.from_regex(rb"\A[A-Za-z][A-Za-z0-9/]{0,8}\Z"))
FLAGS = st.lists(st.sampled_from([b"\\Seen", b"\\Deleted", b"\\Flagged", b"$Label", b"\\Recent",
                                  b"\\Draft", b"Junk"]), max_size=3).map(
    lambda f: b"(" + b" ".join(f) + b")")
ATTS = st.sampled_from([b"FLAGS", b"(UID RFC822.SIZE)", b"ALL", b"FULL", b"BODY.PEEK[]",
                        b"BODY[HEADER.FIELDS (SUBJECT)]", b"(ENVELOPE BODYSTRUCTURE)",
                        b"BODY[1]<0.5>", b"BINARY.SIZE[1]", b"RFC822", b"(INTERNALDATE MODSEQ)",
                        b"(UID PREVIEW (LAZY))", b"(SNIPPET PREVIEW (FUZZY) PREVIEW)"])
KEYS = st.sampled_from([b"ALL", b"UNSEEN", b"SUBJECT m1", b"TEXT there", b"OR SEEN DELETED",
                        b"NOT 1:2", b"UID 2:*", b"LARGER 10", b"SINCE 1-Jan-2020", b"$",
                        b"HEADER Message-ID m2", b"BODY xyz", b"YOUNGER 60",
                        b"OLDER 1"])
VALID_LINES = st.one_of(
    st.builds(lambda u, s, a: b"v1 %sFETCH %s %s" % (u, s, a), st.sampled_from([b"", b"UID "]),
              SEQ, ATTS),
    st.builds(lambda u, s, m, f: b"v2 %sSTORE %s %s %s" % (u, s, m, f),
              st.sampled_from([b"", b"UID "]), SEQ,
              st.sampled_from([b"FLAGS", b"+FLAGS", b"-FLAGS.SILENT"]), FLAGS),
    st.builds(lambda c, s, f: b"v3 %s %s %s" % (c, s, f),
              st.sampled_from([b"COPY", b"MOVE", b"UID COPY", b"UID MOVE"]), SEQ, FOLDER),
    st.builds(lambda r, k: b"v4 %sSEARCH %s" % (r, k),
              st.sampled_from([b"", b"UID ", b"RETURN (SAVE) ", b"UID RETURN (MIN COUNT) "]), KEYS),
    st.builds(lambda k: b"v5 SORT (REVERSE DATE SUBJECT) UTF-8 %s" % k, KEYS),
    st.builds(lambda r, k: b"v20 %sSORT %s(SUBJECT) UTF-8 %s" % (r[0], r[1], k),
              st.sampled_from([(b"", b"RETURN (MIN MAX COUNT ALL) "),
                               (b"UID ", b"RETURN (PARTIAL -1:-3 SAVE) "),
                               (b"", b"RETURN (PARTIAL 2:9) ")]), KEYS),
    st.builds(lambda u, a, k: b"v21 %sTHREAD %s UTF-8 %s" % (u, a, k),
              st.sampled_from([b"", b"UID "]),
              st.sampled_from([b"REFERENCES", b"ORDEREDSUBJECT", b"REFS"]), KEYS),
    st.builds(lambda c, f: b"v6 %s %s" % (c, f),
              st.sampled_from([b"CREATE", b"DELETE", b"SUBSCRIBE", b"UNSUBSCRIBE", b"SELECT",
                               b"EXAMINE", b"GETQUOTAROOT"]), FOLDER),
    st.builds(lambda a, b: b"v7 RENAME %s %s" % (a, b), FOLDER, FOLDER),
    st.builds(lambda f: b'v8 LIST "" %s RETURN (CHILDREN STATUS (MESSAGES SIZE))' % f, FOLDER),
    st.builds(lambda f, d: b"v9 APPEND %s {%d+}\r\n%s" % (f, len(d), d), FOLDER,
              st.binary(min_size=1, max_size=60)),
    st.builds(lambda f, d, u: b'v22 APPEND %s CATENATE (TEXT {%d+}\r\n%s URL "%s")'
              % (f, len(d), d, u), FOLDER, st.binary(max_size=30),
              st.sampled_from([b";UID=1", b"/INBOX/;UID=2/;SECTION=1", b"/INBOX/;UID=1/;PARTIAL=3.4",
                               b"/INBOX/;UID=1/;SECTION=HEADER.FIELDS%20(SUBJECT)", b"/Nowhere/;UID=1",
                               b"imap://x@y/INBOX/;UID=1", b"/INBOX"])),
    st.sampled_from([b"v10 EXPUNGE", b"v11 UID EXPUNGE 1:*", b"v12 CLOSE", b"v13 UNSELECT",
                     b"v14 IDLE", b"v15 CHECK", b"v16 STATUS INBOX (MESSAGES UNSEEN DELETED-STORAGE)",
                     b"v17 NAMESPACE", b"v18 ENABLE IMAP4rev2", b"v19 LSUB \"\" *"]),
)

BURSTS = st.lists(st.one_of(COMMAND_LINES, GARBAGE_LINES, VALID_LINES, VALID_LINES),
                  min_size=1, max_size=8)


@FUZZ
@given(BURSTS)
def test_random_commands_get_protocol_answers_and_the_session_survives(
    live_port: int, burst: list[bytes]
) -> None:
    conn = Connection(live_port)
    try:
        assert conn.response().startswith(b"* OK [CAPABILITY ")
        conn.send(f'L1 LOGIN {USER} "{PASSWORD}"\r\nL2 SELECT INBOX\r\n'.encode())
        assert conn.until(b"L1")[-1].startswith(b"L1 OK")
        assert conn.until(b"L2")[-1].startswith(b"L2 OK")
        # "DONE" ends an IDLE the burst may have started (else it is just a BAD line).
        conn.send(b"".join(terminate(line) for line in burst) + b"DONE\r\nZZ NOOP\r\n")
        lines = conn.until(b"ZZ")
        for line in lines:
            assert RESPONSE.match(line), line
        if lines[-1].startswith(b"* BYE"):
            assert any(b"LOGOUT" in line.upper() for line in burst), lines
        else:
            assert lines[-1] == b"ZZ OK NOOP completed\r\n", lines
    finally:
        conn.close()
