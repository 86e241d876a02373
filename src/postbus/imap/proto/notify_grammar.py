"""Grammar of NOTIFY (RFC 5465 §8).

    notify           = "NOTIFY" SP (notify-set / notify-none)
    notify-set       = "SET" [SP "STATUS"] SP event-group *(SP event-group)
    event-group      = "(" filter-mailboxes SP events ")"
    filter-mailboxes = "selected" / "selected-delayed" / "inboxes" / "personal"
                       / "subscribed" / ("subtree" SP one-or-more-mailbox)
                       / ("mailboxes" SP one-or-more-mailbox)
    events           = ("(" event *(SP event) ")") / "NONE"
    message-event    = ("MessageNew" [SP "(" fetch-att *(SP fetch-att) ")"])
                       / "MessageExpunge" / "FlagChange" / "AnnotationChange"

Event names are kept as the client spelled them, in canonical case when they are
known (the session answers ``NO [BADEVENT]`` for the ones it does not support,
§5).  The rules that make a set BAD are checked here (§5): MessageNew and
MessageExpunge go together, FlagChange and AnnotationChange need both, fetch
attributes only for the selected mailbox, and at most one selected filter.
"""

from .commands import NotifyArgs, NotifyGroup
from .errors import ImapBad
from .fetch import FetchAtt, read_fetch_att
from .lexer import Cursor
from .limits import MAX_NOTIFY_GROUPS, MAX_NOTIFY_MAILBOXES

#: Every event RFC 5465 and its registry name, canonical case by upper case.
EVENTS = {e.upper(): e for e in (
    "MessageNew", "MessageExpunge", "FlagChange", "AnnotationChange", "MailboxName",
    "SubscriptionChange", "MailboxMetadataChange", "ServerMetadataChange",
)}
SELECTED_FILTERS = frozenset({"SELECTED", "SELECTED-DELAYED"})
_PLAIN_FILTERS = SELECTED_FILTERS | {"INBOXES", "PERSONAL", "SUBSCRIBED"}
_NAMED_FILTERS = frozenset({"SUBTREE", "MAILBOXES"})


def read_notify(cur: Cursor, uid: bool) -> NotifyArgs:
    cur.sp()
    word = cur.keyword("SET or NONE")
    if word == "NONE":
        return NotifyArgs(None)
    if word != "SET":
        raise ImapBad("NOTIFY takes SET or NONE")
    cur.sp()
    status = cur.skip_word(b"STATUS")
    if status:
        cur.sp()
    groups: list[NotifyGroup] = []
    names = 0
    while True:
        if len(groups) >= MAX_NOTIFY_GROUPS:
            raise ImapBad(f"Too many NOTIFY event groups (limit {MAX_NOTIFY_GROUPS})")
        group = _read_group(cur)
        names += len(group.mailboxes)
        if names > MAX_NOTIFY_MAILBOXES:
            raise ImapBad(f"Too many mailboxes in NOTIFY (limit {MAX_NOTIFY_MAILBOXES})")
        groups.append(group)
        if not cur.skip(b" "):
            break
    if sum(g.filter in SELECTED_FILTERS for g in groups) > 1:
        raise ImapBad("Only one SELECTED or SELECTED-DELAYED filter")
    return NotifyArgs(tuple(groups), status)


def _read_group(cur: Cursor) -> NotifyGroup:
    cur.expect(b"(", "'(' to open an event group")
    kind = cur.keyword("a mailbox filter")
    mailboxes: tuple[str, ...] = ()
    if kind in _NAMED_FILTERS:
        cur.sp()
        if cur.peek() == 0x28:  # many-mailboxes
            mailboxes = tuple(cur.paren_list(cur.mailbox, allow_empty=False))
        else:
            mailboxes = (cur.mailbox(),)
    elif kind not in _PLAIN_FILTERS:
        raise ImapBad(f"Unknown NOTIFY filter {kind[:32]}")
    cur.sp()
    events: list[str] = []
    fetch: tuple[FetchAtt, ...] = ()
    if not cur.skip_word(b"NONE"):
        cur.expect(b"(", "'(' to open the event list")
        while True:
            word = cur.keyword("an event")
            event = EVENTS.get(word, word)
            if event in events:
                raise ImapBad(f"Event {event} repeated")
            events.append(event)
            if event == "MessageNew" and cur.skip(b" ("):
                if kind not in SELECTED_FILTERS:  # RFC 5465 §5.2
                    raise ImapBad("MessageNew fetch attributes are for the selected mailbox")
                atts = [read_fetch_att(cur)]
                while cur.skip(b" "):
                    atts.append(read_fetch_att(cur))
                cur.expect(b")")
                fetch = tuple(atts)
            if cur.skip(b")"):
                break
            cur.sp()
    cur.expect(b")", "')' to close the event group")
    _check_events(events)
    return NotifyGroup(kind, mailboxes, tuple(events), fetch)


def _check_events(events: list[str]) -> None:
    # RFC 5465 §5: MessageNew and MessageExpunge are requested together, and
    # FlagChange / AnnotationChange only with both.
    new, gone = "MessageNew" in events, "MessageExpunge" in events
    if new != gone:
        raise ImapBad("MessageNew and MessageExpunge must be requested together")
    if not new and ("FlagChange" in events or "AnnotationChange" in events):
        raise ImapBad("FlagChange needs MessageNew and MessageExpunge")
