"""Untagged data responses."""

from postbus.imap.proto import responses as r


def test_simple_responses() -> None:
    assert r.capability(["IMAP4rev1", "IMAP4rev2", "IDLE"]) == (
        b"* CAPABILITY IMAP4rev1 IMAP4rev2 IDLE\r\n"
    )
    assert r.enabled([]) == b"* ENABLED\r\n"
    assert r.enabled(["CONDSTORE"]) == b"* ENABLED CONDSTORE\r\n"
    assert r.exists(23) == b"* 23 EXISTS\r\n"
    assert r.recent(0) == b"* 0 RECENT\r\n"
    assert r.expunge(3) == b"* 3 EXPUNGE\r\n"
    assert r.flags(["\\Seen", "\\Deleted"]) == b"* FLAGS (\\Seen \\Deleted)\r\n"
    assert r.vanished([3, 1, 2, 9], earlier=True) == b"* VANISHED (EARLIER) 1:3,9\r\n"
    assert r.vanished([5]) == b"* VANISHED 5\r\n"


def test_fetch_search_sort() -> None:
    assert r.fetch(12, [b"UID 55", b"FLAGS (\\Seen)"]) == b"* 12 FETCH (UID 55 FLAGS (\\Seen))\r\n"
    assert r.search([]) == b"* SEARCH\r\n"
    assert r.search([2, 5], modseq=917162500) == b"* SEARCH 2 5 (MODSEQ 917162500)\r\n"
    assert r.sort([5, 3, 4]) == b"* SORT 5 3 4\r\n"


def test_esearch() -> None:
    assert r.esearch("A282", False, min=2, count=3) == b'* ESEARCH (TAG "A282") MIN 2 COUNT 3\r\n'
    assert r.esearch("a", True, all=[1, 2, 3, 7]) == b'* ESEARCH (TAG "a") UID ALL 1:3,7\r\n'
    assert r.esearch("a", True, all=[], count=0) == b'* ESEARCH (TAG "a") UID COUNT 0\r\n'
    assert r.esearch(None, False, max=9, modseq=4) == b"* ESEARCH MAX 9 MODSEQ 4\r\n"
    # ESORT (RFC 5267 §3.2) keeps the sort order; PARTIAL (RFC 9394 §3.1)
    assert r.esearch("a", False, all=[5, 6, 7, 1, 3, 4], in_order=True) == (
        b'* ESEARCH (TAG "a") ALL 5:7,1,3:4\r\n')
    assert r.esearch("a", True, partial=((-1, -3), [9, 2, 3])) == (
        b'* ESEARCH (TAG "a") UID PARTIAL (-1:-3 2:3,9)\r\n')
    assert r.esearch("a", True, partial=((1, 5), []), count=0) == (
        b'* ESEARCH (TAG "a") UID COUNT 0 PARTIAL (1:5 NIL)\r\n')


def test_list_and_status() -> None:
    assert r.list_(["\\HasNoChildren"], "/", "INBOX") == b'* LIST (\\HasNoChildren) "/" INBOX\r\n'
    assert r.list_(["\\Noselect"], None, "") == b'* LIST (\\Noselect) NIL ""\r\n'
    assert r.list_([], "/", "Entwürfe", command="LSUB") == b'* LSUB () "/" Entw&APw-rfe\r\n'
    assert r.list_(["\\Sent"], "/", "Sent", extended=[b'CHILDINFO ("SUBSCRIBED")']) == (
        b'* LIST (\\Sent) "/" Sent (CHILDINFO ("SUBSCRIBED"))\r\n'
    )
    assert r.status("Boîte", [("MESSAGES", 3), ("UIDNEXT", 9)]) == (
        b"* STATUS Bo&AO4-te (MESSAGES 3 UIDNEXT 9)\r\n"
    )
    assert r.status("Boîte", [], utf8=True) == b'* STATUS "Bo\xc3\xaete" ()\r\n'


def test_quota_namespace_id() -> None:
    assert r.quota("", [("STORAGE", 10, 1048576)]) == b'* QUOTA "" (STORAGE 10 1048576)\r\n'
    assert r.quotaroot("INBOX", [""]) == b'* QUOTAROOT INBOX ""\r\n'
    assert r.namespace([("", "/")]) == b'* NAMESPACE (("" "/")) NIL NIL\r\n'
    assert r.namespace(None, [("Other/", "/")], []) == (
        b'* NAMESPACE NIL (("Other/" "/")) NIL\r\n'
    )
    assert r.id_(None) == b"* ID NIL\r\n"
    assert r.id_([("name", "Postbus"), ("os", None)]) == b'* ID ("name" "Postbus" "os" NIL)\r\n'
