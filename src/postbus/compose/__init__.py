"""Writing mail in the webmail (issue 13 item 6): compose, reply, reply-all,
forward inline and as attachment, drafts, the copy in Sent, signatures.

`Compose` (service.py) is the one entry; it builds messages (`mime`), reads
originals (`original`), fills reply and forward forms (`draft`) and submits in
process through the delivery pipeline under SMTP submission's rules
(`submit`). It reaches mail only through `mailbox/` and `delivery/`; web pages
call it and nothing below it.
"""

from postbus.compose.draft import Draft, Source
from postbus.compose.errors import ComposeRefused
from postbus.compose.mime import Attachment
from postbus.compose.service import AttachmentInfo, Compose, SavedDraft, Sent

__all__ = ["Attachment", "AttachmentInfo", "Compose", "ComposeRefused", "Draft", "SavedDraft",
           "Sent", "Source"]
