"""CATENATE (RFC 4469) and URL-PARTIAL (RFC 5550 §5) over the wire: messages built
from TEXT literals and IMAP URLs (RFC 5092) of this user's messages, byte for byte;
the BADURL and TOOBIG refusals; MULTIAPPEND with CATENATE all or nothing."""

from __future__ import annotations

from pathlib import Path

from postbus.imap.proto.limits import MAX_CATENATE_PARTS, MAX_CATENATE_URL
from tests.unit.imap.harness import OTHER, USER, Client, Harness, message, running

HEAD = (b"From: Carol <carol@example.org>\r\nTo: alice@example.test\r\nSubject: parts\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n")
PART1_MIME = b"Content-Type: text/plain; charset=us-ascii\r\n\r\n"
PART1_BODY = b"The first part's text.\r\n"
PART2_MIME = b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
PART2_BODY = b"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\r\n"
TEXT = (b"--b1\r\n" + PART1_MIME + PART1_BODY + b"\r\n--b1\r\n" + PART2_MIME + PART2_BODY
        + b"\r\n--b1--\r\n")
SOURCE = HEAD + TEXT
USER_URL = "imap://alice%40example.test@localhost"


def literal(data: bytes) -> bytes:
    return b"{%d+}\r\n%s" % (len(data), data)


async def stored(imap: Harness, folder: str) -> list[bytes]:
    box = await imap.mailbox(folder)
    entries = await imap.app.store.list_messages(box.id)
    infos = await imap.app.store.fetch_info(box.id, [e.uid for e in entries])
    return [await imap.app.store.read_blob(i.blob_id) for i in infos]


async def test_text_sections_and_partial_ranges_make_one_message(imap: Harness) -> None:
    await imap.deliver(SOURCE)
    inbox = await imap.mailbox("INBOX")
    drafts = await imap.mailbox("Drafts")
    client = await imap.client()
    await client.ok("EXAMINE INBOX")  # relative URLs resolve against it (RFC 5092 §7)
    head = b"From: alice@example.test\r\nSubject: forwarded\r\nMIME-Version: 1.0\r\n" \
           b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n"
    tail = b"\r\n--b1--\r\n"
    command = (
        b"APPEND Drafts (\\Draft) CATENATE (TEXT " + literal(head)
        + b' URL "/INBOX;UIDVALIDITY=%d/;UID=1/;SECTION=1.MIME"' % inbox.uid_validity
        + b" URL ;UID=1/;SECTION=1"  # relative to the selected folder, as an atom
        + b' URL "%s:%d/INBOX/;UID=1/;SECTION=TEXT/;PARTIAL=0.20"' % (
            USER_URL.encode(), imap.port())
        + b' URL "/INBOX/;UID=1/;SECTION=2/;PARTIAL=4.10"'
        + b' URL "/inbox/;UID=1/;SECTION=HEADER.FIELDS%20(SUBJECT)/;PARTIAL=9"'
        + b" TEXT " + literal(tail) + b")"
    )
    lines = await client.command(command)
    assert lines == [b"TAG OK [APPENDUID %d 1] APPEND completed\r\n" % drafts.uid_validity]
    expected = (head + PART1_MIME + PART1_BODY + TEXT[:20] + PART2_BODY[4:14]
                + b"parts\r\n\r\n" + tail)
    assert await stored(imap, "Drafts") == [expected]
    # The same octets over the wire, and the new message is parsed once like any other.
    await client.ok("SELECT Drafts")
    fetched = await client.command("FETCH 1 (FLAGS BODY.PEEK[])")
    assert fetched[0] == b"* 1 FETCH (FLAGS (\\Draft \\Recent) BODY[] {%d}\r\n%s)\r\n" % (
        len(expected), expected)
    # Reading the parts did not set \Seen on the source (it is not a FETCH).
    assert (await imap.app.store.list_messages(inbox.id))[0].flags == frozenset()


async def test_the_whole_message_and_multiappend_with_catenate(imap: Harness) -> None:
    first = await imap.deliver(message("one"))
    client = await imap.client()
    sent = await imap.mailbox("Sent")
    # RFC 4469 §4: a plain message and a CATENATE one in one MULTIAPPEND.
    lines = await client.command(
        b"APPEND Sent " + literal(message("plain"))
        + b' CATENATE (URL "/INBOX/;UID=%d" TEXT ~{5+}\r\nextra)' % first.uid)
    assert lines == [b"TAG OK [APPENDUID %d 1:2] APPEND completed\r\n" % sent.uid_validity]
    assert await stored(imap, "Sent") == [message("plain"), message("one") + b"extra"]
    # Without a user an absolute URL is read as this session's user; a relative path
    # names a child of the selected folder (RFC 3986 §5.2 against ".../INBOX/").
    await imap.app.mailboxes.create(imap.accounts[USER].id, "INBOX/a:b")
    child = await imap.deliver(message("child"), folder="INBOX/a:b")
    await client.ok("SELECT INBOX")
    lines = await client.command(
        b'APPEND Sent CATENATE (URL "imap://LOCALHOST/INBOX/;UID=%d" URL "./a:b/;UID=%d")'
        % (first.uid, child.uid))
    assert lines[-1] == b"TAG OK [APPENDUID %d 3] APPEND completed\r\n" % sent.uid_validity
    assert (await stored(imap, "Sent"))[2] == message("one") + message("child")


async def test_bad_urls_are_badurl_and_store_nothing(imap: Harness) -> None:
    await imap.deliver(SOURCE)
    await imap.deliver(message("bobs"), user=OTHER)
    inbox = await imap.mailbox("INBOX")
    client = await imap.client()
    refused = {
        ";UID=1": "No folder is selected for a relative URL",
        "/INBOX/;UID=2": "No message with UID 2",
        "/INBOX/;UID=1/;SECTION=3": "Message 1 has no such part",
        "/INBOX/;UID=1/;SECTION=1.2.MIME": "Message 1 has no such part",
        f"/INBOX;UIDVALIDITY={inbox.uid_validity + 1}/;UID=1":
            "The folder's UIDVALIDITY has changed",
        "/Nowhere/;UID=1": "No folder named Nowhere",
        "/INBOX": "The URL names no message",
        "/INBOX?SUBJECT%20parts": "The URL names no message",
        "/INBOX/;UID=1;URLAUTH=anonymous:internal:0123": "URLAUTH is not supported",
        "/INBOX/;UID=0": "A number in the URL is out of range",
        "/INBOX/;UID=1/;SECTION=BOGUS": "Invalid section: Invalid section specifier",
        "imap://bob%40example.test@localhost/INBOX/;UID=1": "The URL names another user",
        "imap://alice%40example.test@mail.example.org/INBOX/;UID=1":
            "The URL names another server",
        f"{USER_URL}:1/INBOX/;UID=1": "The URL names another server",
        "http://localhost/INBOX/;UID=1": "Not an imap URL",
        "imap:/INBOX/;UID=1": "An imap URL needs a server",
    }
    for url, reason in refused.items():
        lines = await client.command(
            b'APPEND Drafts CATENATE (TEXT {2+}\r\nX: URL "%s")' % url.encode())
        assert lines == [b"TAG NO [BADURL %s] %s\r\n" % (url.encode(), reason.encode())], url
    # The echoed URL stays one token ending at the code's bracket (RFC 4469 §5).
    lines = await client.command(b'APPEND Drafts CATENATE (URL "imap://[::1]/a b/;UID=1")')
    assert lines == [b"TAG NO [BADURL imap://[::1%5D/a%20b/;UID=1] The URL names another server\r\n"]
    assert await stored(imap, "Drafts") == []


async def test_multiappend_with_a_failing_catenate_part_stores_nothing(imap: Harness) -> None:
    await imap.deliver(SOURCE)
    client = await imap.client()
    lines = await client.command(
        b"APPEND Drafts " + literal(message("first"))
        + b' CATENATE (URL "/INBOX/;UID=1")'
        + b' CATENATE (TEXT {3+}\r\nabc URL "/INBOX/;UID=7")')
    assert lines == [b"TAG NO [BADURL /INBOX/;UID=7] No message with UID 7\r\n"]
    assert await stored(imap, "Drafts") == []
    # A refusal by the store after some messages were stored (quota) undoes them too.
    await imap.app.accounts.set_quota(USER, len(SOURCE) * 2 + 100)
    lines = await client.command(
        b'APPEND Drafts CATENATE (URL "/INBOX/;UID=1") CATENATE (URL "/INBOX/;UID=1")')
    assert lines == [b"TAG NO [OVERQUOTA] Quota exceeded\r\n"]
    assert await stored(imap, "Drafts") == []
    assert (await client.command("STATUS Drafts (MESSAGES)"))[0] == (
        b"* STATUS Drafts (MESSAGES 0)\r\n")


async def test_catenate_is_bounded_by_the_append_limits(tmp_path: Path) -> None:
    async with running(tmp_path / "var", max_message_size="1KB") as imap:
        await imap.deliver(b"Subject: big\r\n\r\n" + b"x" * 700)
        client = await imap.client()
        # One URL part fits, two do not: refused before the second part is read.
        assert (await client.command(b'APPEND Drafts CATENATE (URL "/INBOX/;UID=1")'))[-1] \
            .startswith(b"TAG OK [APPENDUID ")
        assert await client.command(
            b'APPEND Drafts CATENATE (URL "/INBOX/;UID=1" URL "/INBOX/;UID=1")') == [
            b"TAG NO [TOOBIG] Message too big (limit 1024 octets)\r\n"]
        assert await client.command(
            b'APPEND Drafts CATENATE (URL "/INBOX/;UID=1" TEXT %s)' % literal(b"y" * 400)) == [
            b"TAG NO [TOOBIG] Message too big (limit 1024 octets)\r\n"]
        # A partial range keeps it under the limit.
        assert (await client.command(
            b'APPEND Drafts CATENATE (URL "/INBOX/;UID=1" URL "/INBOX/;UID=1/;PARTIAL=0.300")'
        ))[-1].startswith(b"TAG OK [APPENDUID ")
        parts = b" ".join([b"TEXT {1+}\r\nx"] * (MAX_CATENATE_PARTS + 1))
        assert await client.command(b"APPEND Drafts CATENATE (" + parts + b")") == [
            b"TAG NO [TOOBIG] Too many CATENATE parts (limit %d)\r\n" % MAX_CATENATE_PARTS]
        assert await client.command("STATUS Drafts (MESSAGES)") == [
            b"* STATUS Drafts (MESSAGES 2)\r\n", b"TAG OK STATUS completed\r\n"]


async def test_catenate_syntax_errors_are_bad(imap: Harness) -> None:
    client: Client = await imap.client()
    for args in (b"CATENATE ()", b"CATENATE (FOO {1+}\r\nx)", b"CATENATE (TEXT \"quoted\")",
                 b"CATENATE (URL)", b"CATENATE URL x"):
        lines = await client.command(b"APPEND Drafts " + args)
        assert lines[-1].startswith(b"TAG BAD "), (args, lines)
    long_url = b"/INBOX/;UID=1/;PARTIAL=" + b"0" * MAX_CATENATE_URL
    assert await client.command(b"APPEND Drafts CATENATE (URL {%d+}\r\n%s)" % (
        len(long_url), long_url)) == [
        b"TAG NO [TOOBIG] URL too long (limit %d octets)\r\n" % MAX_CATENATE_URL]
