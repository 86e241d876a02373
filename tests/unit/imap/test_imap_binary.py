"""BINARY (RFC 3516), CREATE-SPECIAL-USE (RFC 6154 §3) and LITERAL+ covering LITERAL-
(RFC 7888) as an IMAP4rev1 session uses them: each advertised, each working."""

from __future__ import annotations

from tests.unit.imap.harness import Harness

MIXED = (b"From: a@example.org\r\nSubject: bin\r\nMIME-Version: 1.0\r\n"
         b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
         b"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
         b"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
         b"\r\nAAEC/w==\r\n--b--\r\n")


async def test_capabilities_advertise_binary_and_create_special_use(imap: Harness) -> None:
    client = await imap.client()
    caps = (await client.command("CAPABILITY"))[0].split()
    assert b"BINARY" in caps and b"CREATE-SPECIAL-USE" in caps
    assert b"LITERAL+" in caps and b"LITERAL-" not in caps  # LITERAL+ covers LITERAL-


async def test_binary_fetch_in_an_imap4rev1_session(imap: Harness) -> None:
    await imap.deliver(MIXED)
    await imap.app.store.claim_recent((await imap.mailbox("INBOX")).id)  # no \Recent here
    client = await imap.client()
    await client.ok("SELECT INBOX")
    # RFC 3516 §4.3: the decoded size; §4.1: decoded octets, NUL included, as literal8.
    assert await client.command("FETCH 1 (BINARY.SIZE[2])") == [
        b"* 1 FETCH (BINARY.SIZE[2] 4)\r\n", b"TAG OK FETCH completed\r\n"]
    assert await client.command("FETCH 1 (BINARY.PEEK[2])") == [
        b"* 1 FETCH (BINARY[2] ~{4}\r\n\x00\x01\x02\xff)\r\n", b"TAG OK FETCH completed\r\n"]
    assert await client.command("FETCH 1 (BINARY.SIZE[])") == [
        b"* 1 FETCH (BINARY.SIZE[] %d)\r\n" % len(MIXED), b"TAG OK FETCH completed\r\n"]
    assert await client.command("FETCH 1 (BINARY.PEEK[])") == [
        b"* 1 FETCH (BINARY[] {%d}\r\n%s)\r\n" % (len(MIXED), MIXED), b"TAG OK FETCH completed\r\n"]
    # BINARY without .PEEK sets \Seen (RFC 3516 §4.1) and says so.
    assert await client.command("FETCH 1 (BINARY[1])") == [
        b"* 1 FETCH (FLAGS (\\Seen) BINARY[1] {5}\r\nhello)\r\n", b"TAG OK FETCH completed\r\n"]
    assert await client.command("FETCH 1 (BINARY.PEEK[TEXT])") == [
        b"TAG BAD A BINARY section takes only part numbers\r\n"]


async def test_append_takes_a_literal8(imap: Harness) -> None:
    client = await imap.client()
    data = b"Subject: x\r\n\r\n\x00\x01binary\r\n"
    # RFC 3516 §4.4: APPEND with ~{n} (here non-synchronising, LITERAL+) may carry NUL.
    assert (await client.command(b"APPEND Drafts ~{%d+}\r\n%s" % (len(data), data)))[-1].startswith(
        b"TAG OK [APPENDUID ")
    tag = client.tag()
    await client.send(b"%s APPEND Drafts ~{%d}\r\n" % (tag.encode(), len(data)))
    assert await client.response() == b"+ Ready for literal data\r\n"
    await client.send(data + b"\r\n")
    assert (await client.until_tagged(tag))[-1].startswith(tag.encode() + b" OK [APPENDUID ")
    await client.ok("EXAMINE Drafts")
    assert await client.command("FETCH 1:2 (BINARY.PEEK[1])") == [
        b"* 1 FETCH (BINARY[1] ~{10}\r\n\x00\x01binary\r\n)\r\n",
        b"* 2 FETCH (BINARY[1] ~{10}\r\n\x00\x01binary\r\n)\r\n",
        b"TAG OK FETCH completed\r\n"]


async def test_create_special_use(imap: Harness) -> None:
    client = await imap.client()
    lines = await client.command("CREATE Outbox (USE (\\Sent))")
    # CREATE answers with the new folder's MAILBOXID (RFC 8474 §4.1).
    box_id = b"F%d" % (await imap.mailbox("Outbox")).object_id
    assert lines == [b"TAG OK [MAILBOXID (%s)] CREATE completed\r\n" % box_id]
    assert await client.command('LIST "" Outbox') == [
        b'* LIST (\\HasNoChildren \\Sent) "/" Outbox\r\n', b"TAG OK LIST completed\r\n"]


async def test_non_synchronising_literals_up_to_4096_octets(imap: Harness) -> None:
    # RFC 7888 §5: what a LITERAL- client sends; LITERAL+ accepts it (and more).
    client = await imap.client()
    await client.ok("SELECT INBOX")
    assert await client.command(b"SEARCH BODY {4096+}\r\n" + b"x" * 4096) == [
        b"* SEARCH\r\n", b"TAG OK SEARCH completed\r\n"]
