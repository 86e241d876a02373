"""IMAP SEARCH keys as mailbox criteria: sequence sets become UID ranges of the view."""

from __future__ import annotations

import datetime as dt

from postbus.imap.proto import SearchArgs, SearchKey, parse_command
from postbus.imap.search import criterion
from postbus.mailbox import query as q
from postbus.mailbox.types import MessageEntry

VIEW = [MessageEntry(uid, frozenset(), 1) for uid in (3, 5, 9, 10, 20)]


def key(keys: str) -> SearchKey:
    cmd = parse_command([f"A SEARCH {keys}".encode()])
    assert isinstance(cmd.args, SearchArgs)
    return cmd.args.key


def translate(keys: str, saved: list[int] | None = None) -> q.Criterion:
    return criterion(key(keys), VIEW, saved=saved)


def test_sequence_numbers_become_uid_ranges() -> None:
    # 2:3 are UIDs 5 and 9; 5:* is the last message; 7 is beyond EXISTS: nothing
    assert translate("2:3,5:*,7") == q.Uids(((5, 9), (20, 20)))
    assert translate("UID 4:9,15:*") == q.Uids(((4, 9), (15, 20)))
    assert translate("UID 30:*") == q.Uids(((20, 20),))  # RFC 9051 §6.4.9: n:* has the last
    assert criterion(key("1:*"), []) == q.Uids(())  # an empty view: nothing


def test_saved_result_recent_and_strings() -> None:
    assert translate("$", saved=[9, 3]) == q.Uids(((3, 3), (9, 9)))
    assert translate("UID $") == q.Uids(())  # never saved: nothing
    assert translate("NEW") == q.And((q.Recent(), q.Unseen))
    assert translate("OLD KEYWORD $Work") == q.And((q.Recent(False), q.Flag("$Work")))
    assert translate("OR FROM ann SUBJECT x") == q.Or((q.From("ann"), q.Subject("x")))
    assert translate("NOT BODY y") == q.Not(q.Body("y"))
    assert translate('HEADER X-Mailer ""') == q.Header("X-Mailer", "")
    assert translate("SENTSINCE 1-Jan-2020 LARGER 10") == q.And((
        q.Date("since", dt.date(2020, 1, 1), sent=True), q.Larger(10)))
