"""The compose service's refusals. Each carries a `kind` a front end can turn into
its own (translated) wording and a `detail` for the user (an address, a limit)."""

from __future__ import annotations


class ComposeRefused(Exception):
    """Nothing was sent or stored.

    kinds: "from" (not an address the user owns), "recipient" (a bad or unknown
    address), "no_recipient", "too_many_recipients", "too_big" (over the
    message size limit), "limit" (another named limit), "mailbox_full",
    "sending_limit" (over the account's sending limits, or blocked from sending),
    "not_found" (the message to reply to, forward or edit is gone),
    "temporary" (try again later)."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail
