"""What the compose form holds, and how a reply or forward fills it in.

A `Draft` is the form as the user left it: address fields as typed, subject,
body, new uploads, and where it came from. Replies follow RFC 5322 §3.6.4
(In-Reply-To is the original's Message-ID; References is the original's
References, or its In-Reply-To, plus its Message-ID) and §3.6.5 ("Re: " once);
a reply goes to Reply-To when there is one, else From; reply-all adds the
original To and Cc, without the user's own addresses.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, replace

from postbus.compose.limits import MAX_REFERENCES
from postbus.compose.mime import RFC822, Attachment, safe_filename
from postbus.compose.original import Original
from postbus.compose.recipients import Addressee

SIGNATURE_SEPARATOR = "-- \n"  # RFC 3676 §4.3
_RE = re.compile(r"^\s*(re|aw|antw|sv|vs)\s*(\[\d+\])?\s*:\s*", re.I)
_FWD = re.compile(r"^\s*(fwd?|tr|wg|doorst)\s*:\s*", re.I)


@dataclass(frozen=True, slots=True)
class Source:
    """The message a reply or forward is about: its folder and UID."""

    folder: str
    uid: int


@dataclass(frozen=True, slots=True)
class Draft:
    from_address: str = ""
    to: str = ""
    cc: str = ""
    bcc: str = ""
    subject: str = ""
    body: str = ""
    attachments: tuple[Attachment, ...] = ()  # new uploads
    in_reply_to: str = ""
    references: str = ""  # msg-ids separated by spaces
    draft_uid: int | None = None  # the previous version of this draft in Drafts
    drop: tuple[int, ...] = ()  # indexes of that version's attachments to leave out
    replied: Source | None = None  # gets \\Answered when sent
    forwarded: Source | None = None  # gets $Forwarded when sent
    forward_mode: str = ""  # "inline" | "attachment": the forwarded message's parts come along


def with_signature(body: str, signature: str) -> str:
    if not signature.strip():
        return body
    return f"{body}\n\n{SIGNATURE_SEPARATOR}{signature.strip()}\n"


def _list(addresses: Collection[Addressee]) -> str:
    return ", ".join(a.display() for a in addresses)


def quote(text: str) -> str:
    """RFC 3676 §4.5 style quoting: "> " before each line."""
    lines = text.replace("\r\n", "\n").strip("\n").split("\n")
    return "\n".join((">" + line) if line.startswith(">") else ("> " + line if line else ">")
                     for line in lines)


def reply_subject(subject: str) -> str:
    return subject if _RE.match(subject) else f"Re: {subject}"


def forward_subject(subject: str) -> str:
    return subject if _FWD.match(subject) else f"Fwd: {subject}"


def references(original: Original) -> str:
    ids = list(original.references)
    if original.message_id:
        ids.append(original.message_id)
    if len(ids) > MAX_REFERENCES:  # keep the thread's root and the latest ones
        ids = [ids[0], *ids[-(MAX_REFERENCES - 1):]]
    return " ".join(ids)


def reply(original: Original, source: Source, *, own: Collection[str], everyone: bool,
          attribution: str, signature: str = "", from_address: str = "") -> Draft:
    """The reply form. `attribution` has {date} and {name} (a translated
    "On {date}, {name} wrote:"); `own` are the user's addresses, never replied to."""
    mine = {a.lower() for a in own}
    to = [a for a in (original.reply_to or original.from_)]
    if all(a.address.lower() in mine for a in to) and original.to:
        to = list(original.to)  # replying to one's own sent message: to its recipients
    cc: list[Addressee] = []
    if everyone:
        seen = {a.address.lower() for a in to}
        for a in (*original.to, *original.cc):
            key = a.address.lower()
            if key not in seen and key not in mine:
                seen.add(key)
                cc.append(a)
    sender = original.from_[0] if original.from_ else None
    who = (sender.name or sender.address) if sender else ""
    head = attribution.format(date=original.date, name=who)
    body = f"\n\n{head}\n{quote(original.text)}\n"
    return Draft(from_address=from_address, to=_list(to), cc=_list(cc),
                 subject=reply_subject(original.subject),
                 body=with_signature(body, signature), in_reply_to=original.message_id,
                 references=references(original), replied=source)


def forward(original: Original, source: Source, *, inline: bool, heading: str,
            labels: dict[str, str], signature: str = "", from_address: str = "") -> Draft:
    """The forward form. Inline: the original's text below a `heading` block with
    its Subject, Date, From and To (names from `labels`), its attachments
    coming along; as attachment: the message itself, as message/rfc822."""
    if inline:
        fields = [(labels.get("subject", "Subject"), original.subject),
                  (labels.get("date", "Date"), original.date),
                  (labels.get("from", "From"), _list(original.from_)),
                  (labels.get("to", "To"), _list(original.to))]
        block = "\n".join(f"{k}: {v}" for k, v in fields if v)
        body = f"\n\n-------- {heading} --------\n{block}\n\n{original.text.strip()}\n"
    else:
        body = "\n"
    return Draft(from_address=from_address, subject=forward_subject(original.subject),
                 body=with_signature(body, signature), forwarded=source,
                 forward_mode="inline" if inline else "attachment")


def forwarded_parts(original: Original, mode: str) -> tuple[Attachment, ...]:
    """The parts a forward carries: the original's attachments, or the original."""
    if mode == "attachment":
        name = safe_filename((original.subject or "message")[:80] + ".eml")
        return (Attachment(name, RFC822, original.raw),)
    if mode == "inline":
        return original.attachments
    return ()


def without_source(draft: Draft) -> Draft:
    """Once a draft is saved, a forward's parts live in it: they are not added again."""
    return replace(draft, forward_mode="")
