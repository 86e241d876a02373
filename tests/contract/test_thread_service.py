"""THREAD (RFC 5256) through the mailbox service on every backend, on the hand-built
corpus of tests/unit/mailbox/test_thread.py (each backend must hand back the same
parse-once records the algorithms read)."""

from __future__ import annotations

from postbus.config import from_dict
from postbus.mailbox.service import Mailboxes, NewMessage
from postbus.store.contract import Store
from tests.unit.imap.test_imap_thread import NO_DATE, corpus_message
from tests.unit.mailbox.test_thread import CORPUS, ORDEREDSUBJECT, REFERENCES, render


async def test_thread_on_every_backend(store: Store) -> None:
    await store.add_domain("example.test")
    account = await store.add_account("alice@example.test", "h", quota_bytes=0)
    mailboxes = Mailboxes(store, from_dict({}))
    inbox = await mailboxes.get(account.id, "INBOX")
    appended = await mailboxes.append(inbox, [NewMessage(corpus_message(*entry)) for entry in CORPUS])
    uids = [a.uid for a in appended]
    assert uids == [entry[0] for entry in CORPUS]
    last = f"({NO_DATE})"  # no Date: it sorts by its arrival, now
    references = await mailboxes.thread(inbox.id, uids, "REFERENCES")
    assert render(references) == REFERENCES.replace(last, "") + last
    ordered = await mailboxes.thread(inbox.id, reversed(uids), "ORDEREDSUBJECT")
    assert render(ordered) == ORDEREDSUBJECT.replace(last, "") + last
    assert await mailboxes.thread(inbox.id, [], "REFERENCES") == []
