"""IMAP command handlers, one module per command family.

A handler is ``async def handler(session, command) -> Done | None``: it writes
untagged responses through the session and raises ``ImapBad`` / ``ImapNo`` /
``ImapBye`` (or a store refusal) instead of writing error lines; the session
turns those into the wire reply (STYLE habit 3).  Which states allow which
command is the table in ``postbus.imap.dispatch``, not code here.
"""
