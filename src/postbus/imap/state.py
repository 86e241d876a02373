"""Session states (RFC 9051 §3) and the sets of them a command may run in."""

from enum import Enum


class State(Enum):
    NOT_AUTHENTICATED = "not authenticated"
    AUTHENTICATED = "authenticated"
    SELECTED = "selected"
    LOGOUT = "logout"


ANY = frozenset({State.NOT_AUTHENTICATED, State.AUTHENTICATED, State.SELECTED})
NOT_AUTHENTICATED = frozenset({State.NOT_AUTHENTICATED})
AUTHENTICATED = frozenset({State.AUTHENTICATED, State.SELECTED})
SELECTED = frozenset({State.SELECTED})
#: ENABLE: "only valid in the authenticated state, before any mailbox is selected" (RFC 5161 §3.1).
AUTHENTICATED_ONLY = frozenset({State.AUTHENTICATED})
