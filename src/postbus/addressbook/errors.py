"""The address book's refusals; `kind` is for the front end's wording."""

from __future__ import annotations


class ContactRefused(Exception):
    """kinds: "email" (not an address), "name", "notes" (too long), "limit"
    (MAX_CONTACTS reached), "too_big" (import file), "too_many" (contacts in one
    import), "line_too_long", "format" (not vCard or CSV), "not_found"."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail
