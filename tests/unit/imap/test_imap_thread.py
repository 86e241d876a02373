"""THREAD and UID THREAD (RFC 5256) over IMAP, on the hand-built corpus of
tests/unit/mailbox/test_thread.py, delivered as real messages."""

from __future__ import annotations

import datetime as dt
from email.utils import format_datetime

import pytest

from postbus.mailbox import thread
from tests.unit.imap.harness import USER, Client, Harness
from tests.unit.mailbox.test_thread import BASE, CORPUS, ORDEREDSUBJECT, REFERENCES

#: uid 13 has no Date header: it sorts by its arrival (now), after every other.
NO_DATE = 13


def corpus_message(uid: int, message_id: str | None, subject: str, days: float,
         refs: tuple[str, ...], in_reply_to: str | None) -> bytes:
    lines = ["From: Carol <carol@example.org>", f"To: {USER}", f"Subject: {subject}"]
    if uid != NO_DATE:
        lines.append(f"Date: {format_datetime(BASE + dt.timedelta(days=days))}")
    if message_id:
        lines.append(f"Message-ID: <{message_id}@example.org>")
    if refs:
        lines.append("References: " + " ".join(f"<{r}@example.org>" for r in refs))
    if in_reply_to:
        lines.append(f"In-Reply-To: <{in_reply_to}@example.org>")
    return ("\r\n".join(lines) + "\r\n\r\nBody.\r\n").encode()


async def _corpus(imap: Harness) -> Client:
    for entry in CORPUS:
        appended = await imap.deliver(corpus_message(*entry))
        assert appended.uid == entry[0]
    client = await imap.client()
    await client.ok("SELECT INBOX")
    return client


def _without_13_moved_last(threads: str) -> str:
    return threads.replace("(13)", "") + "(13)"


async def test_thread_references_and_orderedsubject(imap: Harness) -> None:
    client = await _corpus(imap)
    expected = _without_13_moved_last(REFERENCES)
    assert await client.command("THREAD REFERENCES UTF-8 ALL") == [
        f"* THREAD {expected}\r\n".encode(), b"TAG OK THREAD completed\r\n"]
    expected = _without_13_moved_last(ORDEREDSUBJECT)
    assert await client.command("UID THREAD ORDEREDSUBJECT US-ASCII ALL") == [
        f"* THREAD {expected}\r\n".encode(), b"TAG OK UID THREAD completed\r\n"]
    assert await client.command("THREAD REFERENCES UTF-8 SUBJECT nothing-like-this") == [
        b"* THREAD\r\n", b"TAG OK THREAD completed\r\n"]


async def test_thread_numbers_follow_the_view(imap: Harness) -> None:
    client = await _corpus(imap)
    await client.ok("STORE 1:2 +FLAGS.SILENT (\\Deleted)")
    await client.ok("EXPUNGE")
    # uids 8, 9, 10 are now messages 6, 7, 8; the search narrows what is threaded.
    assert await client.command("UID THREAD REFERENCES UTF-8 SUBJECT report") == [
        b"* THREAD ((8)(9)(10))\r\n", b"TAG OK UID THREAD completed\r\n"]
    assert await client.command("THREAD REFERENCES UTF-8 SUBJECT report") == [
        b"* THREAD ((6)(7)(8))\r\n", b"TAG OK THREAD completed\r\n"]
    # Without uids 1 and 2, A and B are dummies: B (not top level) is spliced out,
    # A keeps its two children, 4 (D5+12h) before 3 (D7).
    assert await client.command("UID THREAD REFERENCES UTF-8 UID 1:4,14") == [
        b"* THREAD ((4)(3 14))\r\n", b"TAG OK UID THREAD completed\r\n"]


async def test_thread_capabilities_and_bad_algorithm(imap: Harness) -> None:
    client = await imap.client()
    caps = (await client.command("CAPABILITY"))[0]
    assert b" THREAD=ORDEREDSUBJECT THREAD=REFERENCES THREAD=REFS " in caps
    await client.ok("SELECT INBOX")
    assert await client.command("THREAD REFSX UTF-8 ALL") == [
        b"TAG BAD Unknown threading algorithm REFSX\r\n"]


async def test_thread_refs_on_the_corpus(imap: Harness) -> None:
    # Dovecot 2.3.19's answer for these messages (uid 13 without a Date sorts last).
    client = await _corpus(imap)
    assert await client.command("THREAD REFS UTF-8 ALL") == [
        b"* THREAD (12)((5)(6))(7)(8)(9)(10)(11)(1 (4)(2 3 14))(16 15)(13)\r\n",
        b"TAG OK THREAD completed\r\n"]


async def test_large_thread_runs_in_the_executor(imap: Harness,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(thread, "INLINE_THREAD_LIMIT", 0)
    client = await _corpus(imap)
    expected = _without_13_moved_last(REFERENCES)
    assert await client.command("THREAD REFERENCES UTF-8 ALL") == [
        f"* THREAD {expected}\r\n".encode(), b"TAG OK THREAD completed\r\n"]
