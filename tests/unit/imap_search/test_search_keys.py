"""SEARCH: every key of RFC 3501 / RFC 9051 (+ MODSEQ, $), on a small folder."""

from __future__ import annotations

import calendar
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.unit.imap_fetch.samples import text_message
from tests.unit.imap_fetch.support import Folder, crlf, open_folder

# One folder for the whole module (the searches do not change it): one event loop too.
pytestmark = pytest.mark.asyncio(loop_scope="module")


def day(y: int, m: int, d: int, hh: int = 12) -> float:
    return float(calendar.timegm((y, m, d, hh, 0, 0, 0, 0, 0)))


MSG1 = text_message(
    "Lunch on Thursday", "Shall we have lunch?", sender="Alice Example <alice@example.org>",
    to="bob@example.net", date="Tue, 1 Jul 2003 23:30:00 -0700",
    extra="Cc: Carol <carol@example.com>\nX-Priority: 1 (Highest)\n")
MSG2 = text_message(
    "=?utf-8?q?=C3=89t=C3=A9_=C3=A0_Paris?=", "L'été est chaud à Paris, très chaud.",
    sender="=?utf-8?q?J=C3=A9r=C3=B4me_Dupont?= <jerome@example.fr>",
    to="Team: ann@example.net, zed@example.net;", date="Sat, 5 Jul 2003 08:00:00 +0000",
    extra="Bcc: secret@example.org\nX-Mailer: Mutt\n")
MSG3 = crlf("From: robot@example.org\nTo: bob@example.net\nSubject: Report\n"
            "Content-Type: text/plain\n\n" + "numbers 12345\n" * 400)
MSG4 = crlf("From: news@example.com\nTo: bob@example.net\nSubject: Newsletter\n"
            "Date: 1 Aug 03 09:00 GMT\nContent-Type: text/html; charset=utf-8\n"
            "Content-Transfer-Encoding: base64\n\n"
            "PGh0bWw+PGJvZHk+PHA+SGVsbG8gPGI+V29ybGQ8L2I+PC9wPjwvYm9keT48L2h0bWw+\n")


async def fill(folder: Folder) -> Folder:
    await folder.add(MSG1, flags=["\\Seen", "\\Answered"], internal_date=day(2003, 7, 1, 23))
    await folder.add(MSG2, flags=["\\Flagged", "$Work"], internal_date=day(2003, 7, 5))
    await folder.add(MSG3, flags=["\\Deleted", "\\Draft", "\\Seen"], internal_date=day(2003, 7, 10))
    await folder.add(MSG4, internal_date=day(2003, 8, 1, 0))
    return folder


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def box(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Folder]:
    store, folder = await open_folder(tmp_path_factory.mktemp("search"))
    try:
        yield await fill(folder)
    finally:
        await store.close()


@pytest.mark.parametrize(("keys", "expected"), [
    ("ALL", [1, 2, 3, 4]),
    ("ANSWERED", [1]),
    ("DELETED", [3]),
    ("DRAFT", [3]),
    ("FLAGGED", [2]),
    ("SEEN", [1, 3]),
    ("UNANSWERED", [2, 3, 4]),
    ("UNDELETED", [1, 2, 4]),
    ("UNDRAFT", [1, 2, 4]),
    ("UNFLAGGED", [1, 3, 4]),
    ("UNSEEN", [2, 4]),
    ("KEYWORD $Work", [2]),
    ("KEYWORD $work", [2]),  # RFC 9051 §2.3.2: keywords are case-insensitive
    ("UNKEYWORD $WORK", [1, 3, 4]),
    ("KEYWORD $Nothing", []),
])
async def test_flag_keys(box: Folder, keys: str, expected: list[int]) -> None:
    assert await box.search(keys) == expected


async def test_recent_new_old(box: Folder) -> None:
    recent = frozenset({2, 3})  # UIDs
    assert await box.search("RECENT", recent=recent) == [2, 3]
    assert await box.search("OLD", recent=recent) == [1, 4]
    assert await box.search("NEW", recent=recent) == [2]  # RECENT UNSEEN
    assert await box.search("RECENT") == []


@pytest.mark.parametrize(("keys", "expected"), [
    # INTERNALDATE, by its UTC date
    ("BEFORE 5-Jul-2003", [1]),
    ("ON 5-Jul-2003", [2]),
    ("ON 1-Jul-2003", [1]),
    ("SINCE 5-Jul-2003", [2, 3, 4]),
    ("SINCE 2-Aug-2003", []),
    ("BEFORE 1-Jan-2000", []),
    # the Date header's own date: message 1 was sent on 1 Jul at 23:30 -0700 (2 Jul in UTC)
    ("SENTON 1-Jul-2003", [1]),
    ("SENTON 2-Jul-2003", []),
    ("SENTBEFORE 5-Jul-2003", [1]),
    ("SENTSINCE 5-Jul-2003", [2, 4]),  # message 3 has no Date: no SENT* key matches it
    ("NOT SENTSINCE 5-Jul-2003", [1, 3]),
    ("SENTON 1-Aug-2003", [4]),  # "1 Aug 03": an obsolete two-digit year
])
async def test_date_keys(box: Folder, keys: str, expected: list[int]) -> None:
    assert await box.search(keys) == expected


async def test_size_keys(box: Folder) -> None:
    sizes = [len(m) for m in (MSG1, MSG2, MSG3, MSG4)]
    assert await box.search(f"LARGER {sizes[0]}") == [n for n, s in enumerate(sizes, 1)
                                                      if s > sizes[0]]
    assert await box.search(f"SMALLER {sizes[0]}") == [n for n, s in enumerate(sizes, 1)
                                                       if s < sizes[0]]
    assert await box.search("LARGER 5000") == [3]
    assert await box.search("SMALLER 1") == []


@pytest.mark.parametrize(("keys", "expected"), [
    ("SUBJECT lunch", [1]),
    ("SUBJECT \"ON THURSDAY\"", [1]),
    ("SUBJECT \"été\"", [2]),  # decoded encoded word, case-insensitive
    ("SUBJECT \"ÉTÉ À\"", [2]),
    ("SUBJECT r", [1, 2, 3, 4]),
    ("SUBJECT \"\"", [1, 2, 3, 4]),
    ("FROM alice", [1]),
    ("FROM \"Alice Example\"", [1]),
    ("FROM ALICE@EXAMPLE.ORG", [1]),
    ("FROM \"jérôme\"", [2]),  # decoded display name
    ("FROM \"Dupont <jerome@\"", [2]),
    ("FROM example", [1, 2, 3, 4]),
    ("TO bob@example.net", [1, 3, 4]),
    ("TO team", [2]),  # group name
    ("TO zed", [2]),
    ("CC carol", [1]),
    ("CC bob", []),
    ("BCC secret", [2]),
    ("HEADER X-Priority highest", [1]),
    ("HEADER x-mailer \"\"", [2]),  # RFC 9051 §6.4.4: "" = has the field
    ("HEADER X-Nothere \"\"", []),
    ("HEADER Subject paris", [2]),  # HEADER values are decoded too
    ("HEADER content-transfer-encoding base64", [4]),
    ("HEADER Date 03", [1, 2, 4]),
])
async def test_header_keys(box: Folder, keys: str, expected: list[int]) -> None:
    assert await box.search(keys) == expected


@pytest.mark.parametrize(("keys", "expected"), [
    ("BODY lunch", [1]),
    ("BODY \"TRÈS CHAUD\"", [2]),
    ("BODY \"ÉTÉ\"", [2]),  # non-ASCII case-insensitive, through the index (>= 3 characters)
    ("BODY \"été\"", [2]),
    ("BODY hello", [4]),  # base64 HTML, decoded and reduced to text
    ("BODY \"hello world\"", [4]),
    ("BODY \"<b>\"", []),  # tags are not text
    ("BODY Report", []),  # a Subject is not body
    ("TEXT Report", [3]),
    ("TEXT bob@example", [1, 3, 4]),
    ("BODY 12345", [3]),
    ("BODY 45", [3]),  # under 3 characters: no index, every message is read
    ("TEXT \"à\"", [2]),
    ("BODY \"chaud  à\"", [2]),  # white space runs count as one
])
async def test_text_keys(box: Folder, keys: str, expected: list[int]) -> None:
    assert await box.search(f"CHARSET UTF-8 {keys}") == expected


@pytest.mark.parametrize(("keys", "expected"), [
    ("1", [1]),
    ("2:3", [2, 3]),
    ("*", [4]),
    ("3:*", [3, 4]),
    ("*:3", [3, 4]),
    ("1,3,9", [1, 3]),
    ("UID 2", [2]),
    ("UID 2:*", [2, 3, 4]),
    ("UID 9:*", [4]),  # RFC 9051 §6.4.9: n:* always includes the last UID
    ("UID 7", []),
])
async def test_sequence_and_uid_sets(box: Folder, keys: str, expected: list[int]) -> None:
    assert await box.search(keys) == expected


async def test_saved_result(box: Folder) -> None:
    assert await box.search("$", saved=[2, 4]) == [2, 4]
    assert await box.search("UID $ SEEN", saved=[1, 2, 4]) == [1]
    assert await box.search("$") == []  # RFC 5182 §2.1: empty until something is saved


async def test_sets_after_an_expunge_use_the_view(box: Folder) -> None:
    view = await box.entries()
    view = [view[0], view[2], view[3]]  # message UID 2 expunged: UID 3 is now sequence 2
    assert await box.search("2", entries=view) == [2]
    assert await box.search("UID 3", entries=view) == [2]
    assert await box.search("UID 2", entries=view) == []


@pytest.mark.parametrize(("keys", "expected"), [
    ("NOT SEEN", [2, 4]),
    ("NOT NOT SEEN", [1, 3]),
    ("OR FLAGGED DELETED", [2, 3]),
    ("OR SEEN BODY paris", [1, 2, 3]),
    ("SEEN UNDELETED", [1]),
    ("(SEEN UNDELETED) FROM alice", [1]),
    ("OR (FLAGGED KEYWORD $work) (SUBJECT newsletter)", [2, 4]),
    ("NOT OR SEEN FLAGGED", [4]),
    ("NOT BODY chaud", [1, 3, 4]),
    ("NOT BODY 45", [1, 2, 4]),
    ("NOT (SUBJECT report LARGER 10)", [1, 2, 4]),
    ("UNSEEN NOT TEXT paris", [4]),
    ("1:3 OR 4 UNSEEN", [2]),
])
async def test_boolean_keys(box: Folder, keys: str, expected: list[int]) -> None:
    assert await box.search(keys) == expected


async def test_modseq(folder: Folder) -> None:
    box = await fill(folder)
    entries = await box.entries()
    assert await box.search(f"MODSEQ {entries[2].modseq}") == [3, 4]
    await box.store.store_flags(box.mailbox_id, [1], lambda f: f | {"\\Flagged"})
    assert await box.search(f"MODSEQ {entries[3].modseq + 1}") == [1]
    assert await box.search(f'MODSEQ "/flags/\\\\draft" all {entries[0].modseq}') == [1, 2, 3, 4]


async def test_empty_folder(folder: Folder) -> None:
    assert await folder.search("ALL") == []
    assert await folder.search("TEXT anything") == []
