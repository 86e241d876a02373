"""Every limit the message parser enforces, in one place.

A message larger or stranger than these limits is still described: the parser
stops descending, records `MessageMeta.truncated`, and keeps every byte
reachable through the enclosing part's offsets.
"""

from __future__ import annotations

#: Most Part nodes (the root included) one message may produce. Further MIME
#: parts are left inside their parent's body, as an epilogue would be.
MAX_PARTS = 2000

#: Deepest nesting of MIME entities (multipart in multipart, message/rfc822 ...).
#: A multipart or message/rfc822 deeper than this is described as a leaf
#: application/octet-stream. Dovecot's default is 100; no real mail nests 32 deep.
MAX_MIME_DEPTH = 32

#: Deepest nesting of message/rfc822 inside message/rfc822 (forward of a forward ...).
MAX_MESSAGE_DEPTH = 8

#: Most fields read from one header block; later fields are ignored (they stay in
#: the raw bytes, so BODY[HEADER] still returns them).
MAX_HEADER_FIELDS = 10_000

#: Most addresses kept per ENVELOPE address list (From, To, Cc ...).
MAX_ADDRESSES = 1000

#: Characters of an address-list value read by the general (non fast path) parser;
#: MAX_ADDRESSES ordinary addresses fit well within it.
MAX_ADDRESS_LIST_CHARS = 128 << 10

#: Characters of a Content-Type or Content-Disposition value read, and most
#: parameters kept from it.
MAX_MIME_VALUE_CHARS = 16 << 10
MAX_PARAMS = 64

#: Characters of the Subject read to make the RFC 5256 base subject.
MAX_SORT_SUBJECT_CHARS = 16 << 10

#: Most message ids kept from a References header: the first one and the last
#: MAX_REFERENCES - 1, which is what threading (RFC 5256 §2.2) needs.
MAX_REFERENCES = 100

#: Cap, in characters, of the decoded body text handed to the full-text index.
MAX_BODY_TEXT = 1 << 20

#: Cap, in characters, of the decoded header text handed to the full-text index.
MAX_HEADER_TEXT = 256 << 10

#: Most encoded octets of one text part decoded for the full-text index.
MAX_DECODE_BYTES = 4 << 20

#: RFC 8970 (PREVIEW) caps a preview at 256 characters; we keep 200.
PREVIEW_LENGTH = 200

#: Encoded octets of the first text part read to build the preview
#: (HTML may open with a long <head> and <style>).
PREVIEW_SCAN_BYTES = 64 << 10
