"""NOTIFY grammar (RFC 5465 §8) and the rules that make a set BAD (§5)."""

import pytest

from postbus.imap.proto import NotifyArgs, NotifyGroup
from postbus.imap.proto.limits import MAX_NOTIFY_GROUPS, MAX_NOTIFY_MAILBOXES

from .helpers import command, error


def test_notify_none() -> None:
    assert command(b"a NOTIFY none").args == NotifyArgs(None)


def test_notify_set_with_every_filter() -> None:
    cmd = command(
        b'a NOTIFY SET STATUS (selected (MessageNew (UID FLAGS) MessageExpunge flagchange))'
        b' (subtree (INBOX "Lists/x y") (MessageNew MessageExpunge MailboxName))'
        b' (mailboxes Drafts (SubscriptionChange)) (inboxes NONE) (personal NONE)'
        b' (subscribed (MailboxName))')
    args = cmd.args
    assert isinstance(args, NotifyArgs) and args.status
    assert args.groups is not None
    selected, subtree, mailboxes, inboxes, personal, subscribed = args.groups
    assert (selected.filter, selected.events) == (
        "SELECTED", ("MessageNew", "MessageExpunge", "FlagChange"))
    assert [a.name for a in selected.fetch] == ["UID", "FLAGS"]
    assert subtree == NotifyGroup("SUBTREE", ("INBOX", "Lists/x y"),
                                  ("MessageNew", "MessageExpunge", "MailboxName"))
    assert mailboxes == NotifyGroup("MAILBOXES", ("Drafts",), ("SubscriptionChange",))
    assert inboxes == NotifyGroup("INBOXES", (), ())
    assert personal.events == () and subscribed.events == ("MailboxName",)


def test_unknown_events_are_kept_for_badevent() -> None:
    args = command(b"a NOTIFY SET (personal (AnnotationChange MessageNew MessageExpunge))").args
    assert isinstance(args, NotifyArgs) and args.groups is not None
    assert args.groups[0].events == ("AnnotationChange", "MessageNew", "MessageExpunge")


@pytest.mark.parametrize("line", [
    b"a NOTIFY SET (personal (MessageExpunge))",
    b"a NOTIFY SET (personal (FlagChange MessageNew))",
    b"a NOTIFY SET (inboxes (MessageNew (UID) MessageExpunge))",
    b"a NOTIFY SET (selected NONE) (selected NONE)",
    b"a NOTIFY SET (personal (MailboxName MailboxName))",
    b"a NOTIFY SET (subtree (MailboxName))",
    b"a NOTIFY SET (mailboxes () (MailboxName))",
    b"a NOTIFY SET personal",
    b"a NOTIFY GET",
])
def test_bad_sets(line: bytes) -> None:
    assert error(line).status == "BAD"


def test_limits() -> None:
    group = b" (personal NONE)"
    assert command(b"a NOTIFY SET" + group * MAX_NOTIFY_GROUPS).name == "NOTIFY"
    assert "limit" in error(b"a NOTIFY SET" + group * (MAX_NOTIFY_GROUPS + 1)).message
    names = b" ".join(b"f%d" % i for i in range(MAX_NOTIFY_MAILBOXES + 1))
    assert "limit" in error(b"a NOTIFY SET (mailboxes (" + names + b") NONE)").message
