"""Named limits of the IMAP receiver, grammar and writer.

Every bound the protocol core enforces lives here, with the policy applied when
it is passed.  The receiver checks a limit *before* it buffers the bytes it
governs, so a client can never make the server hold more than these amounts.
"""

from typing import Final

#: Longest command line (one CRLF-terminated segment) in octets.  Policy: answer
#: ``BAD [TOOBIG]`` after discarding the rest of the line; the connection stays usable.
MAX_LINE: Final = 64 * 1024

#: Largest literal in any command other than APPEND.  Policy: a synchronising
#: literal is refused without a continuation; a non-synchronising one
#: (RFC 7888) is read and discarded, then refused with ``BAD [TOOBIG]``.
MAX_LITERAL: Final = 64 * 1024

#: Largest message literal in APPEND (the advertised APPENDLIMIT, RFC 7889):
#: 12 x 2^20 octets, the house maximum message size.  Refused with ``NO [TOOBIG]``.
APPEND_LIMIT: Final = 12 * 2**20

#: Largest total of all literals in one APPEND (MULTIAPPEND, RFC 3502).
MAX_APPEND_TOTAL: Final = 4 * APPEND_LIMIT

#: Most CATENATE parts (``TEXT`` literals and ``URL``s, RFC 4469 §5) in one APPEND,
#: over all its messages: each URL costs a store read, whatever octets it names.
#: Policy: ``NO [TOOBIG]`` for the APPEND; nothing is stored.  The
#: assembled message is bounded by ``APPEND_LIMIT`` and all messages of one APPEND
#: together by ``MAX_APPEND_TOTAL``, as literals are; URL parts are checked against
#: what is left before their octets are read.
MAX_CATENATE_PARTS: Final = 256

#: Longest IMAP URL (RFC 5092) in a CATENATE ``URL`` part, in octets.  Policy:
#: ``NO [TOOBIG]`` for the APPEND, and the URL is not echoed.
MAX_CATENATE_URL: Final = 8 * 1024

#: Largest total of lines and literals of one non-APPEND command.
MAX_COMMAND_SIZE: Final = 2**20

#: The pre-authentication budget: the largest command before login, its lines
#: and literals together (and the longest line).  A LOGIN or AUTHENTICATE needs a
#: few hundred octets; an unauthenticated client may not make the server hold
#: more than this per connection.  Policy: as for the limits above (``BAD
#: [TOOBIG]``; a non-synchronising literal past it is read and discarded, so the
#: connection stays in sync).  After login the limits above apply.
PREAUTH_MAX_COMMAND: Final = 8 * 1024

#: Most literals in one command; each costs bookkeeping beyond its bytes.
MAX_COMMAND_LITERALS: Final = 1000

#: Deepest nesting of search keys (parentheses, NOT, OR) before ``BAD``;
#: keeps the recursive-descent parser far from Python's recursion limit.
MAX_SEARCH_DEPTH: Final = 64

#: Octets kept from the end of a line being discarded, enough to recognise a
#: trailing literal marker such as ``~{9223372036854775807+}``.
DISCARD_TAIL: Final = 32

#: ``number`` / ``nz-number`` (RFC 9051 §9): unsigned 32-bit.
MAX_NUMBER: Final = 2**32 - 1

#: ``number64`` (RFC 9051 §9), also the bound of a mod-sequence value (RFC 7162 §7).
MAX_NUMBER64: Final = 2**63 - 1

#: Field/value pairs accepted in ``ID`` (RFC 2971 §3.3).
MAX_ID_PAIRS: Final = 30

#: Longest string the writer sends as a quoted string; longer ones become literals.
MAX_QUOTED: Final = 1024

#: NOTIFY (RFC 5465 §8): event groups in one NOTIFY SET, and mailbox names in all
#: its SUBTREE / MAILBOXES filters together.  More is BAD.
MAX_NOTIFY_GROUPS: Final = 50
MAX_NOTIFY_MAILBOXES: Final = 1000

#: Searches whose results a session keeps up to date at once (RFC 5267 §4.3.1:
#: at least one; beyond this the UPDATE is refused with NOUPDATE). Each costs a
#: search of the folder whenever it changes.
MAX_SEARCH_CONTEXTS: Final = 4
