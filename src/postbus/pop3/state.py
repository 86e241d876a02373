"""The POP3 session states (RFC 1939 §3) and the signal that ends a session.

Kept apart from `session.py` so that the command handlers can name them
without importing the session module that imports them.
"""

from __future__ import annotations

from enum import Enum


class State(Enum):
    AUTHORIZATION = "AUTHORIZATION"
    TRANSACTION = "TRANSACTION"
    UPDATE = "UPDATE"


class SessionClosed(Exception):
    """The connection is gone, timed out or must close: end the session without a reply."""
