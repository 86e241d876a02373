"""The error taxonomy the session maps to BAD / NO / BYE in one place."""

from postbus.imap.proto import ImapBad, ImapBye, ImapError, ImapNo


def test_statuses_and_codes() -> None:
    bad = ImapBad("Invalid sequence set")
    no = ImapNo("Mailbox does not exist", "TRYCREATE")
    bye = ImapBye("Server shutting down")
    assert [e.status for e in (bad, no, bye)] == ["BAD", "NO", "BYE"]
    assert (bad.message, bad.code) == ("Invalid sequence set", None)
    assert (no.message, no.code) == ("Mailbox does not exist", "TRYCREATE")
    assert bye.code is None and str(bye) == "Server shutting down"
    assert all(isinstance(e, ImapError) for e in (bad, no, bye))
