"""The flag-update rule of STORE (RFC 9051 §6.4.6), written once.

The store applies the returned function to each message's current flags inside
its transaction and writes only the messages whose flags changed; a conditional
update (UNCHANGEDSINCE, RFC 7162 §3.1.3) is passed through to it unchanged.
``\\Recent`` is never stored (RFC 3501 §2.3.2: the server sets it, a client
cannot), so it is dropped from what a client asks to set, add or remove.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal

FlagMode = Literal["set", "add", "remove"]
FlagUpdate = Callable[[frozenset[str]], frozenset[str]]
RECENT = "\\Recent"


def flag_update(mode: FlagMode, flags: Iterable[str]) -> FlagUpdate:
    """The function from a message's current flags to its new flags."""
    given = frozenset(f for f in flags if f != RECENT)
    if mode == "set":
        return lambda current: given
    if mode == "add":
        return lambda current: current | given
    if mode == "remove":
        return lambda current: current - given
    raise ValueError(f"unknown flag update mode {mode!r}")
