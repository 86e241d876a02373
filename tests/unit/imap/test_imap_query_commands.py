"""FETCH, SEARCH and SORT as the session frames them (evaluation is postbus.imap.fetch/search/sort)."""

from __future__ import annotations

from tests.unit.imap.harness import Client, Harness, message


async def _mailbox(imap: Harness) -> Client:
    await imap.deliver(message("banana", sender="zed@example.org"))
    await imap.deliver(message("apple", sender="amy@example.org"), flags=("\\Seen",))
    await imap.deliver(message("cherry hello", sender="max@example.org"))
    await imap.deliver(message("hello world", sender="bob@example.org"), flags=("\\Flagged",))
    # Another session was told of them first: none is \\Recent here (RFC 3501 §2.3.2).
    await imap.app.store.claim_recent((await imap.mailbox("INBOX")).id)
    client = await imap.client()
    await client.ok("SELECT INBOX")
    return client


async def test_search_and_uid_search(imap: Harness) -> None:
    client = await _mailbox(imap)
    assert await client.command("SEARCH SUBJECT hello") == [
        b"* SEARCH 3 4\r\n", b"TAG OK SEARCH completed\r\n"]
    await client.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    await client.ok("EXPUNGE")
    assert await client.command("UID SEARCH UNSEEN") == [
        b"* SEARCH 3 4\r\n", b"TAG OK UID SEARCH completed\r\n"]
    assert await client.command("SEARCH UNSEEN") == [
        b"* SEARCH 2 3\r\n", b"TAG OK SEARCH completed\r\n"]
    assert await client.command("SEARCH CHARSET KOI8-R ALL") == [
        b"TAG NO [BADCHARSET (US-ASCII UTF-8)] Unsupported charset KOI8-R\r\n"]


async def test_esearch_return_options(imap: Harness) -> None:
    client = await _mailbox(imap)
    tag = client.tag()
    await client.send(f"{tag} UID SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN\r\n")
    assert await client.until_tagged(tag) == [
        f'* ESEARCH (TAG "{tag}") UID MIN 1 MAX 4 COUNT 3 ALL 1,3:4\r\n'.encode(),
        f"{tag} OK UID SEARCH completed\r\n".encode(),
    ]
    tag = client.tag()
    await client.send(f"{tag} SEARCH RETURN () SEEN\r\n")
    assert await client.until_tagged(tag) == [
        f'* ESEARCH (TAG "{tag}") ALL 2\r\n'.encode(), f"{tag} OK SEARCH completed\r\n".encode()]
    tag = client.tag()
    await client.send(f"{tag} SEARCH RETURN (COUNT MIN) DRAFT\r\n")
    assert await client.until_tagged(tag) == [
        f'* ESEARCH (TAG "{tag}") COUNT 0\r\n'.encode(), f"{tag} OK SEARCH completed\r\n".encode()]


async def test_searchres_save_and_dollar(imap: Harness) -> None:
    client = await _mailbox(imap)
    assert await client.command("SEARCH RETURN (SAVE) SUBJECT hello") == [
        b"TAG OK SEARCH completed\r\n"]
    assert await client.command("FETCH $ (UID)") == [
        b"* 3 FETCH (UID 3)\r\n", b"* 4 FETCH (UID 4)\r\n", b"TAG OK FETCH completed\r\n"]
    tag = client.tag()
    await client.send(f"{tag} UID SEARCH RETURN (SAVE MAX) ALL\r\n")
    assert await client.until_tagged(tag) == [
        f'* ESEARCH (TAG "{tag}") UID MAX 4\r\n'.encode(),
        f"{tag} OK UID SEARCH completed\r\n".encode()]
    assert await client.command("UID STORE $ +FLAGS (\\Answered)") == [
        b"* 4 FETCH (UID 4 FLAGS (\\Answered \\Flagged))\r\n",
        b"TAG OK UID STORE completed\r\n"]
    assert await client.command("SEARCH $") == [
        b"* SEARCH 4\r\n", b"TAG OK SEARCH completed\r\n"]


async def test_rev2_search_answers_with_esearch(imap: Harness) -> None:
    await imap.deliver(message("one"))
    client = await imap.client()
    await client.ok("ENABLE IMAP4rev2")
    await client.ok("SELECT INBOX")
    tag = client.tag()
    await client.send(f"{tag} SEARCH ALL\r\n")
    assert await client.until_tagged(tag) == [
        f'* ESEARCH (TAG "{tag}") ALL 1\r\n'.encode(), f"{tag} OK SEARCH completed\r\n".encode()]


async def test_sort(imap: Harness) -> None:
    client = await _mailbox(imap)
    assert await client.command("SORT (SUBJECT) UTF-8 ALL") == [
        b"* SORT 2 1 3 4\r\n", b"TAG OK SORT completed\r\n"]
    assert await client.command("UID SORT (REVERSE FROM) UTF-8 UNSEEN") == [
        b"* SORT 1 3 4\r\n", b"TAG OK UID SORT completed\r\n"]


async def test_fetch_peek_and_seen(imap: Harness) -> None:
    client = await _mailbox(imap)
    lines = await client.command("FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert lines == [
        b"* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {19}\r\nSubject: banana\r\n\r\n)\r\n",
        b"TAG OK FETCH completed\r\n"]
    assert await client.command("FETCH 1 (FLAGS)") == [
        b"* 1 FETCH (FLAGS ())\r\n", b"TAG OK FETCH completed\r\n"]
    lines = await client.command("FETCH 1 (BODY[TEXT])")
    assert lines[0] == b"* 1 FETCH (FLAGS (\\Seen) BODY[TEXT] {11}\r\nHi there.\r\n)\r\n"
    # The session knows \Seen was set: NOOP does not announce it again.
    assert await client.command("NOOP") == [b"TAG OK NOOP completed\r\n"]
    assert await client.command("FETCH 1 (FLAGS)") == [
        b"* 1 FETCH (FLAGS (\\Seen))\r\n", b"TAG OK FETCH completed\r\n"]
    assert await client.command("FETCH 5 (FLAGS)") == [
        b"TAG BAD Invalid message sequence number (beyond EXISTS)\r\n"]
    assert await client.command("UID FETCH 1 (UID) (CHANGEDSINCE 1 VANISHED)") == [
        b"TAG BAD QRESYNC is not enabled\r\n"]


async def test_within_older_younger(imap: Harness) -> None:
    client = await imap.client()
    old = message("old")
    tag = client.tag()
    await client.send(f'{tag} APPEND INBOX "01-Jan-2020 00:00:00 +0000" {{{len(old)}+}}\r\n'
                      .encode() + old + b"\r\n")
    assert (await client.until_tagged(tag))[-1].startswith(tag.encode() + b" OK")
    await imap.deliver(message("new"))  # arrives now
    await client.ok("SELECT INBOX")
    # RFC 5032: by INTERNALDATE, in seconds back from now.
    assert await client.command("SEARCH OLDER 86400") == [
        b"* SEARCH 1\r\n", b"TAG OK SEARCH completed\r\n"]
    assert await client.command("UID SEARCH YOUNGER 86400") == [
        b"* SEARCH 2\r\n", b"TAG OK UID SEARCH completed\r\n"]
    assert await client.command("SEARCH NOT YOUNGER 86400") == [
        b"* SEARCH 1\r\n", b"TAG OK SEARCH completed\r\n"]
    assert await client.command("SEARCH OLDER 0") == [
        b"TAG BAD An interval in seconds must not be zero\r\n"]


async def test_fetch_preview(imap: Harness) -> None:
    await imap.deliver(message("plain", body="Hello   there,\r\n\r\n\tsee you\r\n" + "x" * 400))
    html = (b"From: a@example.org\r\nSubject: html\r\nContent-Type: text/html\r\n\r\n"
            b"<html><head><style>p {}</style></head><body><p>Hi <b>Bob</b>,</p>"
            b"<p>lunch&nbsp;at 1?</p></body></html>\r\n")
    await imap.deliver(html)
    client = await imap.client()
    await client.ok("SELECT INBOX")
    lines = await client.command("FETCH 1:2 (PREVIEW (LAZY))")  # RFC 8970
    assert lines[0] == b'* 1 FETCH (PREVIEW "Hello there, see you ' + b"x" * 179 + b'")\r\n'
    assert lines[1] == b'* 2 FETCH (PREVIEW "Hi Bob, lunch at 1?")\r\n'
    assert lines[2] == b"TAG OK FETCH completed\r\n"
    assert await client.command("UID FETCH 2 PREVIEW") == [
        b'* 2 FETCH (UID 2 PREVIEW "Hi Bob, lunch at 1?")\r\n',
        b"TAG OK UID FETCH completed\r\n"]


async def test_fetch_snippet_and_fuzzy_preview(imap: Harness) -> None:
    # The forms and answers of Dovecot 2.3.19 for the same message (SNIPPET=FUZZY and
    # PREVIEW=FUZZY, the drafts before RFC 8970), byte for byte.
    await imap.deliver(message("quoting", body='Hello there, "quoted" and a back\\slash.\r\n'))
    await imap.deliver(message("empty", body=""))
    client = await imap.client()
    await client.ok("SELECT INBOX")
    text = b'"Hello there, \\"quoted\\" and a back\\\\slash."'
    fuzzy = b"(FUZZY " + text + b")"
    for command, answer in [
        ("FETCH 1 (SNIPPET (FUZZY))", b"SNIPPET " + fuzzy),
        ("FETCH 1 SNIPPET", b"SNIPPET " + fuzzy),
        ("FETCH 1 (SNIPPET (LAZY))", b"SNIPPET " + fuzzy),
        ("FETCH 1 (snippet (lazy=fuzzy))", b"SNIPPET " + fuzzy),
        ("FETCH 1 (PREVIEW (FUZZY))", b"PREVIEW " + fuzzy),
        ("FETCH 1 (PREVIEW (LAZY=FUZZY))", b"PREVIEW " + fuzzy),
        ("FETCH 1 (PREVIEW)", b"PREVIEW " + text),
        ("FETCH 1 (PREVIEW (LAZY))", b"PREVIEW " + text),
        ("FETCH 1 (PREVIEW (FUZZY) PREVIEW)", b"PREVIEW " + fuzzy + b" PREVIEW " + text),
        ("FETCH 2 (SNIPPET (FUZZY) PREVIEW (FUZZY) PREVIEW)",
         b'SNIPPET (FUZZY "") PREVIEW (FUZZY "") PREVIEW ""'),
    ]:
        number = command.split()[1].encode()
        assert await client.command(command) == [
            b"* " + number + b" FETCH (" + answer + b")\r\n", b"TAG OK FETCH completed\r\n"]
    assert await client.command("UID FETCH 2 (SNIPPET (FUZZY))") == [
        b'* 2 FETCH (UID 2 SNIPPET (FUZZY ""))\r\n', b"TAG OK UID FETCH completed\r\n"]
    assert (await client.command("FETCH 1 (SNIPPET (FOO))"))[-1].startswith(b"TAG BAD")


async def _esort_mailbox(imap: Harness) -> Client:
    # Subjects out of UID order: SORT (SUBJECT) gives UIDs 2 5 1 3 4 6.
    for subject in ("delta", "alpha", "echo", "golf", "bravo", "hotel"):
        await imap.deliver(message(subject))
    client = await imap.client()
    await client.ok("SELECT INBOX")
    await client.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    await client.ok("EXPUNGE")  # now message n is UID n + 1
    return client


async def _esearch(client: Client, command: str) -> list[bytes]:
    tag = client.tag()
    await client.send(f"{tag} {command}\r\n")
    lines = await client.until_tagged(tag)
    return [line.replace(f'(TAG "{tag}")'.encode(), b'(TAG "T")').replace(
        tag.encode() + b" ", b"TAG ", 1) for line in lines]


async def test_esort_return_options(imap: Harness) -> None:
    client = await _esort_mailbox(imap)
    assert await client.command("UID SORT (SUBJECT) UTF-8 ALL") == [
        b"* SORT 2 5 3 4 6\r\n", b"TAG OK UID SORT completed\r\n"]
    # RFC 5267 §3.2: MIN/MAX are the first/last in sort order; ALL keeps the order.
    assert await _esearch(client, "UID SORT RETURN (MIN MAX COUNT ALL) (SUBJECT) UTF-8 ALL") == [
        b'* ESEARCH (TAG "T") UID MIN 2 MAX 6 COUNT 5 ALL 2,5,3:4,6\r\n',
        b"TAG OK UID SORT completed\r\n"]
    assert await _esearch(client, "SORT RETURN () (SUBJECT) UTF-8 ALL") == [
        b'* ESEARCH (TAG "T") ALL 1,4,2:3,5\r\n', b"TAG OK SORT completed\r\n"]
    assert await _esearch(client, "SORT RETURN (COUNT MIN) (REVERSE SUBJECT) UTF-8 SUBJECT zulu"
                          ) == [b'* ESEARCH (TAG "T") COUNT 0\r\n', b"TAG OK SORT completed\r\n"]
    # RFC 5182 §2.4: SAVE with SORT keeps the message MIN names.
    assert await _esearch(client, "SORT RETURN (SAVE MIN) (REVERSE SUBJECT) UTF-8 ALL") == [
        b'* ESEARCH (TAG "T") MIN 5\r\n', b"TAG OK SORT completed\r\n"]
    assert await client.command("UID SEARCH $") == [
        b"* SEARCH 6\r\n", b"TAG OK UID SEARCH completed\r\n"]


async def test_partial_results_of_search_and_sort(imap: Harness) -> None:
    client = await _esort_mailbox(imap)
    # RFC 9394 §3.1: positions in the result, from the first or (negative) the last.
    assert await _esearch(client, "UID SORT RETURN (PARTIAL 2:3 COUNT) (SUBJECT) UTF-8 ALL") == [
        b'* ESEARCH (TAG "T") UID COUNT 5 PARTIAL (2:3 5,3)\r\n',
        b"TAG OK UID SORT completed\r\n"]
    assert await _esearch(client, "SORT RETURN (PARTIAL -1:-2) (SUBJECT) UTF-8 ALL") == [
        b'* ESEARCH (TAG "T") PARTIAL (-1:-2 3,5)\r\n', b"TAG OK SORT completed\r\n"]
    assert await _esearch(client, "SEARCH RETURN (PARTIAL 4:100) ALL") == [
        b'* ESEARCH (TAG "T") PARTIAL (4:100 4:5)\r\n', b"TAG OK SEARCH completed\r\n"]
    assert await _esearch(client, "UID SEARCH RETURN (PARTIAL 6:9) ALL") == [
        b'* ESEARCH (TAG "T") UID PARTIAL (6:9 NIL)\r\n', b"TAG OK UID SEARCH completed\r\n"]
    assert await _esearch(client, "UID SEARCH RETURN (SAVE PARTIAL -1:-2) ALL") == [
        b'* ESEARCH (TAG "T") UID PARTIAL (-1:-2 5:6)\r\n', b"TAG OK UID SEARCH completed\r\n"]
    assert await client.command("UID SEARCH $") == [
        b"* SEARCH 5 6\r\n", b"TAG OK UID SEARCH completed\r\n"]
    assert await client.command("SEARCH RETURN (PARTIAL 1:2 ALL) ALL") == [
        b"TAG BAD PARTIAL goes with neither ALL nor another PARTIAL\r\n"]


async def test_sort_collates_with_unicode_casemap_and_groups_by_name(imap: Harness) -> None:
    # RFC 5256 §3 compares with i;unicode-casemap (RFC 5051): titlecase, so "_" and
    # "[" (between "Z" and "a" in ASCII) sort after every letter, not before "a".
    for subject in ("_underscore", "[xyz]", "apple", "Zebra", "émile"):
        await imap.deliver(message(subject))
    # Group syntax sorts by the group name (RFC 5256 §3 addr-mailbox of the group
    # start, RFC 5957 §3): "Marketing" sorts after "carol", before "zed".
    await imap.deliver(b"From: Marketing: a@example.org, b@example.org;\r\n"
                       b"To: Aardvark <zed@example.org>\r\nSubject: group\r\n\r\nx\r\n")
    await imap.deliver(b"From: Zed <zed@example.org>\r\nTo: undisclosed-recipients:;\r\n"
                       b"Subject: zed\r\n\r\nx\r\n")
    client = await imap.client()
    await client.ok("SELECT INBOX")
    assert await client.command("SORT (SUBJECT) UTF-8 ALL") == [
        b"* SORT 3 5 6 4 7 2 1\r\n", b"TAG OK SORT completed\r\n"]
    assert await client.command("SORT (FROM) UTF-8 ALL") == [
        b"* SORT 1 2 3 4 5 6 7\r\n", b"TAG OK SORT completed\r\n"]
    assert await client.command("SORT (DISPLAYFROM) UTF-8 ALL") == [
        b"* SORT 1 2 3 4 5 6 7\r\n", b"TAG OK SORT completed\r\n"]
    # TO: alice@example.test (1-5), "zed" (6), the group "undisclosed-recipients" (7)
    assert await client.command("SORT (TO) UTF-8 ALL") == [
        b"* SORT 1 2 3 4 5 7 6\r\n", b"TAG OK SORT completed\r\n"]
    # DISPLAYTO: alice@example.test (1-5), "Aardvark" (6), the group (7)
    assert await client.command("SORT (DISPLAYTO) UTF-8 ALL") == [
        b"* SORT 6 1 2 3 4 5 7\r\n", b"TAG OK SORT completed\r\n"]
