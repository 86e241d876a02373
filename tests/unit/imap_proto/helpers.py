"""Shared helpers for the IMAP protocol-core tests."""

from postbus.imap.proto import (
    Command,
    Event,
    NeedContinuation,
    NeedData,
    ProtocolError,
    Receiver,
)


def drain(receiver: Receiver) -> list[Event]:
    """Every event up to (not including) the next NeedData."""
    out: list[Event] = []
    while True:
        event = receiver.next_event()
        if isinstance(event, NeedData):
            return out
        out.append(event)


def events(data: bytes, receiver: Receiver | None = None) -> list[Event]:
    receiver = receiver or Receiver()
    receiver.feed(data)
    return drain(receiver)


def command(data: bytes, *, utf8: bool = False) -> Command:
    """The single command in ``data`` (CRLF added when missing)."""
    if not data.endswith(b"\n"):
        data += b"\r\n"
    receiver = Receiver()
    receiver.utf8 = utf8
    out = [e for e in events(data, receiver) if not isinstance(e, NeedContinuation)]
    assert len(out) == 1, out
    assert isinstance(out[0], Command), out[0]
    return out[0]


def error(data: bytes, *, utf8: bool = False) -> ProtocolError:
    """The single ProtocolError that ``data`` produces."""
    if not data.endswith(b"\n"):
        data += b"\r\n"
    receiver = Receiver()
    receiver.utf8 = utf8
    out = [e for e in events(data, receiver) if not isinstance(e, NeedContinuation)]
    assert len(out) == 1, out
    assert isinstance(out[0], ProtocolError), out[0]
    return out[0]
