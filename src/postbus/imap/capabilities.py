"""The CAPABILITY list, which depends on the connection's TLS and login state.

RFC 9051 §6.1.1 / §7.2.2: the list may change after STARTTLS and after login,
and a server that changes it sends the new list in the tagged OK of the login
(``OK [CAPABILITY ...]``) so that clients need not ask again.  Plain-text
authentication is only offered inside TLS (DESIGN.md house rules): before
STARTTLS the plain port advertises ``STARTTLS LOGINDISABLED`` and no ``AUTH=``.

LITERAL- (RFC 7888 §5) is not advertised beside LITERAL+: LITERAL+ allows
non-synchronising literals of any size, which covers LITERAL-'s up to 4096
octets, so a client that knows only LITERAL- may use them (Dovecot does the same).

Not advertised on purpose: PARTIAL (RFC 9394: SEARCH and SORT take
RETURN (PARTIAL ...), UID FETCH does not), and ``QUOTA=RES-MESSAGE``: accounts have no message-count limit, so there is
no MESSAGE resource to report (RFC 9208 §5.1 lists only limited resources).
"""

#: Understood in every state (RFC 9051 §6.1, RFC 7888, RFC 4959, RFC 2971, RFC 5161, RFC 2177).
BASE = ("IMAP4rev1", "IMAP4rev2", "LITERAL+", "SASL-IR", "ID", "ENABLE", "IDLE")

#: The extensions of the authenticated and selected states.
EXTENSIONS = (
    "NAMESPACE",  # RFC 2342
    "UNSELECT",  # RFC 3691
    "UIDPLUS",  # RFC 4315
    "MOVE",  # RFC 6851
    "MULTIAPPEND",  # RFC 3502
    "CATENATE",  # RFC 4469 (URL parts: this user's messages on this server)
    "URL-PARTIAL",  # RFC 5550 §5: ;PARTIAL= in CATENATE URLs
    "SPECIAL-USE",  # RFC 6154
    "CREATE-SPECIAL-USE",  # RFC 6154 §3: CREATE name (USE (\\Sent))
    "BINARY",  # RFC 3516: BINARY[], BINARY.PEEK, BINARY.SIZE, APPEND ~{n} (also for IMAP4rev1)
    "CHILDREN",  # RFC 3348
    "LIST-EXTENDED",  # RFC 5258
    "LIST-STATUS",  # RFC 5819
    "ESEARCH",  # RFC 4731
    "SEARCHRES",  # RFC 5182
    "SORT",  # RFC 5256
    "SORT=DISPLAY",  # RFC 5957
    "THREAD=ORDEREDSUBJECT",  # RFC 5256
    "THREAD=REFERENCES",  # RFC 5256
    "THREAD=REFS",  # draft-ietf-morg-inthread-01, as Dovecot 2.3 answers it (mailbox.thread)
    "ESORT",  # RFC 5267 §3
    "CONTEXT=SEARCH",  # RFC 5267 §4 (UPDATE, ADDTO, REMOVEFROM, CANCELUPDATE)
    "CONTEXT=SORT",
    "WITHIN",  # RFC 5032
    "PREVIEW",  # RFC 8970
    "PREVIEW=FUZZY",  # draft-ietf-extra-imap-fetch-preview: PREVIEW (FUZZY), as Dovecot 2.3
    "SNIPPET=FUZZY",  # its earlier form: SNIPPET (FUZZY), as Dovecot 2.3
    "COMPRESS=DEFLATE",  # RFC 4978
    "QUOTA",  # RFC 9208
    "QUOTA=RES-STORAGE",
    "UTF8=ACCEPT",  # RFC 6855
    "STATUS=SIZE",  # RFC 8438
    "CONDSTORE",  # RFC 7162 §3.1
    "QRESYNC",  # RFC 7162 §3.2
    "OBJECTID",  # RFC 8474
    "SAVEDATE",  # RFC 8514
    "NOTIFY",  # RFC 5465
)

#: SASL mechanisms offered inside TLS.
MECHANISMS = ("PLAIN",)


def capabilities(*, tls: bool, authenticated: bool, append_limit: int) -> tuple[str, ...]:
    """The capability atoms for a connection in this state, in a stable order."""
    caps = list(BASE)
    if not authenticated:
        if tls:
            caps += [f"AUTH={m}" for m in MECHANISMS]
        else:
            caps += ["STARTTLS", "LOGINDISABLED"]  # RFC 9051 §6.2.1, §6.2.3
    caps += EXTENSIONS
    caps.append(f"APPENDLIMIT={append_limit}")  # RFC 7889 §3
    return tuple(caps)
