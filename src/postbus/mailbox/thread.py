"""Thread messages: RFC 5256 §3 ORDEREDSUBJECT and REFERENCES, and REFS, on the parse-once record.

:func:`thread` reads, for the messages to thread, the record fields the
algorithms need (Message-ID, References or else In-Reply-To, the sent date,
the base subject and whether the subject was a reply or forward; all computed
at delivery by `postbus.message`) and hands them to the pure functions
:func:`ordered_subject` and :func:`references`, which return a forest of
:class:`Thread` nodes. A node without a UID is a dummy: a message that is
referenced but not among those threaded (RFC 5256 §3, REFERENCES step 1).

The sent date is the Date header, or INTERNALDATE when there is none or it
cannot be parsed (RFC 5256 §2.2); equal dates fall back to mailbox order,
which is UID order.

Step 1 differs from a literal reading of RFC 5256 in one place, as Dovecot 2.3
reads it: when a message's own container already has a parent (from another
message's References) that is not its last reference, that parent is thrown
away even if the new link is then refused because it would make a loop; the
message becomes a root.

REFS (THREAD=REFS, draft-ietf-morg-inthread-01, "a threading algorithm using
(almost) only the References header field"; the draft expired and its text
was not at hand, so these rules are the ones observed from Dovecot 2.3.19,
whose answers :func:`refs` reproduces, checked side by side on the corpus of
tests/unit/mailbox/test_thread.py):

* the links are those of REFERENCES step 1 (References, else the first
  In-Reply-To id; a repeated Message-ID is the first message's; loops refused);
* no subject is looked at: messages with the same subject and no references
  are separate threads;
* below the top, a dummy is spliced out: a message hangs under its nearest
  ancestor that is a message; at the top a dummy with children stays, even
  with one child (it writes as ``(5)``, the same as a message root);
* siblings are ordered by sent date, then UID, as in REFERENCES;
* threads are ordered by the latest sent date of any message in them, then
  by the root's UID, a dummy root counting as UID 0 (so before a message
  root of the same date); two dummy roots of the same date keep the order in
  which their Message-IDs were first seen. Dovecot counts that order over
  every message its thread index has seen in the mailbox, Postbus over the
  messages threaded: the two differ only for a THREAD over part of a mailbox
  with two dummy-rooted threads whose latest dates are equal to the second.

Invariants: no recursion (a thread can be as deep as a mailbox is long, and
its shape is chosen by whoever sends the mail); each step is linear in the
number of messages except the loop checks of step 1, which walk up the
ancestors of one node, and only when the node to link already has children.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from postbus import executor
from postbus.mailbox import record
from postbus.store.contract import Store

#: UIDs per `store.fetch_info` call.
BATCH = 500

#: Messages threaded on the event loop; more go to the executor (STYLE habit 7:
#: REFERENCES over 50,000 messages is about a second of Python).
INLINE_THREAD_LIMIT = 2000

Algorithm = Literal["ORDEREDSUBJECT", "REFERENCES", "REFS"]


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    """What threading reads of one message."""

    uid: int
    sent: float  # the sent date, epoch seconds (RFC 5256 §2.2)
    subject: str = ""  # the base subject (RFC 5256 §2.1)
    is_reply: bool = False  # the subject had a subj-refwd or "(fwd)" trailer
    message_id: str | None = None
    references: tuple[str, ...] = ()  # References, else the first In-Reply-To id


@dataclass(eq=False, slots=True)
class Thread:
    """One node of a thread: a message (`uid`) or a dummy (`uid` None), with its replies."""

    uid: int | None
    children: list[Thread] = field(default_factory=list)


async def thread(store: Store, mailbox_id: int, uids: Iterable[int], algorithm: Algorithm
                 ) -> list[Thread]:
    """The threads of `uids` by `algorithm`, ordered as RFC 5256 §3 orders them."""
    ordered_uids = sorted(set(uids))
    messages: list[ThreadMessage] = []
    for start in range(0, len(ordered_uids), BATCH):
        for info in await store.fetch_info(mailbox_id, ordered_uids[start:start + BATCH]):
            meta = await record.load(store, info)
            refs = meta.references or ([meta.in_reply_to] if meta.in_reply_to else [])
            messages.append(ThreadMessage(
                uid=info.uid,
                sent=meta.sort_date if meta.sort_date is not None else info.internal_date,
                subject=meta.sort_subject, is_reply=meta.subject_is_reply,
                message_id=meta.message_id, references=tuple(refs),
            ))
    messages.sort(key=lambda m: m.uid)
    threader = THREADERS[algorithm]
    if len(messages) <= INLINE_THREAD_LIMIT:
        return threader(messages)
    return await executor.run(executor.CPU, threader, messages)


def _date_key(message: ThreadMessage) -> tuple[float, int]:
    return message.sent, message.uid


def ordered_subject(messages: Sequence[ThreadMessage]) -> list[Thread]:
    """RFC 5256 §3 ORDEREDSUBJECT: one thread per base subject, its first message
    (by sent date) the parent of all the others; threads by their first's date."""
    groups: dict[str, list[ThreadMessage]] = {}
    for message in sorted(messages, key=lambda m: (m.subject, m.sent, m.uid)):
        groups.setdefault(message.subject, []).append(message)
    threads = []
    for group in groups.values():
        first = group[0]
        threads.append((_date_key(first), Thread(first.uid, [Thread(m.uid) for m in group[1:]])))
    threads.sort(key=lambda pair: pair[0])
    return [t for _, t in threads]


@dataclass(eq=False, slots=True)
class _Container:
    message: ThreadMessage | None = None
    parent: _Container | None = None
    children: list[_Container] = field(default_factory=list)
    key: tuple[float, int] = (0.0, 0)  # the sent-date sort key, set by _sort_siblings


def _is_ancestor(node: _Container, of: _Container) -> bool:
    """Whether `node` is `of` or one of its ancestors. A node without children is
    nobody's ancestor: the usual case, answered without walking up."""
    if not node.children:
        return node is of
    current: _Container | None = of
    while current is not None:
        if current is node:
            return True
        current = current.parent
    return False


def _link(parent: _Container, child: _Container) -> None:
    if child.parent is not None:
        child.parent.children.remove(child)
    child.parent = parent
    parent.children.append(child)


def references(messages: Sequence[ThreadMessage]) -> list[Thread]:
    """RFC 5256 §3 REFERENCES. `messages` in mailbox (sequence) order."""
    containers = _link_messages(messages)
    roots = _prune([c for c in containers if c.parent is None])  # steps 2-4
    for root in roots:  # step 5: top-level by date; a dummy by its first child
        _sort_siblings(root)
    roots.sort(key=lambda c: c.key)
    roots = _merge_by_subject(roots)  # step 6
    for root in roots:  # step 7
        _sort_siblings(root)
    roots.sort(key=lambda c: c.key)
    return [_export(root) for root in roots]


def _link_messages(messages: Sequence[ThreadMessage]) -> list[_Container]:
    """Step 1: a container per message and per referenced Message-ID, linked."""
    by_id: dict[str, _Container] = {}
    containers: list[_Container] = []

    def container_for(message_id: str) -> _Container:
        found = by_id.get(message_id)
        if found is None:
            found = by_id[message_id] = _Container()
            containers.append(found)
        return found

    for message in messages:
        # 1B (its first half): a message without a Message-ID, or whose Message-ID an
        # earlier message already has, gets a unique one, that is a container of its own.
        own: _Container | None = None
        if message.message_id:
            own = container_for(message.message_id)
            if own.message is not None:
                own = None
        if own is None:
            own = _Container()
            containers.append(own)
        own.message = message
        # 1A: link the references in order, never relinking a container that has a
        # parent, never making a loop.
        previous: _Container | None = None
        for ref in message.references:
            current = container_for(ref)
            if (previous is not None and current.parent is None
                    and not _is_ancestor(current, previous)):
                _link(previous, current)
            previous = current
        # 1B: the last reference is the parent. A parent that a References field
        # elsewhere gave the message is thrown away first, even when the new link
        # is then refused because it would make a loop (the message becomes a
        # root, as Dovecot has it); no references: a root.
        if previous is not own.parent and own.parent is not None:
            own.parent.children.remove(own)
            own.parent = None
        if previous is not None and own.parent is None and not _is_ancestor(own, previous):
            _link(previous, own)
    return containers


def _prune(roots: list[_Container], *, promote: bool = True) -> list[_Container]:
    """Step 4: drop dummies without children; splice the children of the others into
    their place, except at the top level, where only a dummy with one child goes
    (and none when not `promote`: REFS keeps every top-level dummy with children)."""
    # Children before parents, so that what is promoted has been pruned already.
    order: list[_Container] = []
    stack = list(roots)
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(node.children)
    for node in reversed(order):
        node.children = _pruned_level(node.children, top=False, parent=node)
    return _pruned_level(roots, top=True, parent=None, promote=promote)


def _pruned_level(level: list[_Container], *, top: bool, parent: _Container | None,
                  promote: bool = True) -> list[_Container]:
    out: list[_Container] = []
    for node in level:
        if node.message is None:
            if not node.children:
                continue
            if not top or (promote and len(node.children) == 1):
                for child in node.children:
                    child.parent = parent
                    out.append(child)
                continue
        out.append(node)
    return out


def _sort_siblings(root: _Container) -> None:
    """Sort every set of siblings under `root` by sent date, the deepest first, and
    set each node's key (a dummy's is its first child's, RFC 5256 §3 steps 5, 7)."""
    order: list[_Container] = []
    stack = [root]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(node.children)
    for node in reversed(order):
        node.children.sort(key=lambda c: c.key)
        if node.message is not None:
            node.key = _date_key(node.message)
        elif node.children:
            node.key = node.children[0].key


def _subject(node: _Container) -> tuple[str, bool, bool]:
    """(base subject, is a reply, is a dummy) of a top-level node: a dummy has its
    first child's subject (RFC 5256 §3 step 6)."""
    if node.message is not None:
        return node.message.subject, node.message.is_reply, False
    first = node.children[0]
    while first.message is None:
        first = first.children[0]
    return first.message.subject, first.message.is_reply, True


def _merge_by_subject(roots: list[_Container]) -> list[_Container]:
    """Step 6: gather top-level threads whose base subjects are the same."""
    table: dict[str, _Container] = {}
    for node in roots:  # 6B
        subject, is_reply, dummy = _subject(node)
        if not subject:
            continue
        held = table.get(subject)
        if held is None:
            table[subject] = node
            continue
        _, held_reply, held_dummy = _subject(held)
        if not held_dummy and (dummy or (held_reply and not is_reply)):
            table[subject] = node
    slots: list[_Container | None] = list(roots)
    position = {id(node): i for i, node in enumerate(roots)}
    for i, node in enumerate(roots):  # 6C
        if slots[i] is not node:
            continue
        subject, is_reply, dummy = _subject(node)
        if not subject:
            continue
        held = table[subject]
        if held is node:
            continue
        _, held_reply, held_dummy = _subject(held)
        slots[i] = None
        if held_dummy and dummy:
            for child in node.children:
                child.parent = held
                held.children.append(child)
        elif held_dummy or (is_reply and not held_reply):
            _link(held, node)
        else:
            merged = _Container()
            _link(merged, held)
            _link(merged, node)
            slots[position[id(held)]] = merged
            position[id(merged)] = position[id(held)]
            table[subject] = merged
    return [node for node in slots if node is not None]


def refs(messages: Sequence[ThreadMessage]) -> list[Thread]:
    """THREAD=REFS as Dovecot 2.3 answers it (see the module docstring).
    `messages` in mailbox (sequence) order."""
    containers = _link_messages(messages)  # step 1 of REFERENCES, unchanged
    position = {id(c): i for i, c in enumerate(containers)}
    roots = [c for c in containers if c.parent is None]
    # Every dummy below the top is spliced out: a message hangs under its nearest
    # ancestor that is a message, or under the top-level dummy when it has none.
    roots = _prune(roots, promote=False)
    keyed = []
    for root in roots:
        _sort_siblings(root)  # siblings by sent date, then UID
        latest = _latest(root)
        uid = root.message.uid if root.message is not None else 0
        keyed.append(((latest, uid, position[id(root)]), root))
    keyed.sort(key=lambda pair: pair[0])
    return [_export(root) for _, root in keyed]


def _latest(root: _Container) -> float:
    """The latest sent date of the messages in the thread under `root`."""
    latest = float("-inf")
    stack = [root]
    while stack:
        node = stack.pop()
        if node.message is not None:
            latest = max(latest, node.message.sent)
        stack.extend(node.children)
    return latest


THREADERS = {"ORDEREDSUBJECT": ordered_subject, "REFERENCES": references, "REFS": refs}


def _export(root: _Container) -> Thread:
    out = Thread(root.message.uid if root.message is not None else None)
    stack = [(root, out)]
    while stack:
        node, thread_node = stack.pop()
        for child in node.children:
            exported = Thread(child.message.uid if child.message is not None else None)
            thread_node.children.append(exported)
            stack.append((child, exported))
    return out
