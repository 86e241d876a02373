"""Change events between the processes that share one SQLite store.

Worker processes (and the command line) each open the store; each commits
through its own writer, so a change committed by one process must reach IDLE
sessions in the others. Every open store binds a unix datagram socket in
`data_dir/events/` under a name of its own (pid and a random token). After
each commit the writer thread sends the batch's change events, a few bytes
each ("account mailbox modseq kind" lines), to every other socket in that
directory; the receiving store feeds them into its `ChangeHub` exactly as
its own commits are (`publish(local_only=True)`), so IMAP IDLE and NOTIFY
need nothing new. Nothing polls: an idle process sleeps in its event loop
until a datagram arrives.

- A socket whose owner is gone refuses datagrams (ECONNREFUSED): its file is
  removed by the sender; names are never reused, so the file of a live store
  is never removed this way.
- A receiver whose buffer is full (EAGAIN) loses that datagram; the changes
  are still in the store, and a session sees them at its next command, as
  after a lost PostgreSQL notification. The receive buffer is enlarged to
  make this rare (`RCVBUF`).
- Paths: bind and send through `/proc/self/fd/N/NAME`, N an open descriptor
  of the directory, so a deep `data_dir` does not hit the 108-byte limit of
  a unix socket path.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import secrets
import socket
from collections.abc import Iterable
from pathlib import Path

from postbus.security import files
from postbus.store.events import ChangeHub
from postbus.store.model import Change

log = logging.getLogger(__name__)

DIRECTORY = "events"
SUFFIX = ".sock"
# Largest datagram sent; a bigger batch of changes goes out in several.
MAX_DATAGRAM = 16 * 1024
# Receive buffer asked of the kernel, so a burst of commits is not dropped.
RCVBUF = 1 << 20
# Longest "account mailbox modseq kind" line accepted from a peer.
MAX_LINE = 128
KINDS = frozenset({"messages", "mailboxes", "subscriptions"})


def encode(changes: Iterable[Change]) -> list[bytes]:
    """Datagrams of at most MAX_DATAGRAM bytes carrying `changes` (the latest per
    folder and kind only: a receiver keeps no more than that)."""
    latest: dict[tuple[int, int, str], Change] = {}
    for change in changes:
        key = (change.account_id, change.mailbox_id, change.kind)
        if key not in latest or latest[key].modseq <= change.modseq:
            latest[key] = change
    out: list[bytes] = []
    chunk = bytearray()
    for c in latest.values():
        line = f"{c.account_id} {c.mailbox_id} {c.modseq} {c.kind}\n".encode()
        if len(chunk) + len(line) > MAX_DATAGRAM:
            out.append(bytes(chunk))
            chunk.clear()
        chunk += line
    if chunk:
        out.append(bytes(chunk))
    return out


def decode(datagram: bytes) -> list[Change]:
    """The changes in a datagram; malformed lines are skipped."""
    changes = []
    for line in datagram.split(b"\n"):
        if not line or len(line) > MAX_LINE:
            continue
        parts = line.split(b" ")
        if len(parts) != 4:
            continue
        kind = parts[3].decode("ascii", "replace")
        if kind not in KINDS:
            continue
        try:
            changes.append(Change(int(parts[0]), int(parts[1]), int(parts[2]), kind))
        except ValueError:
            continue
    return changes


class ChangeChannel:
    """This store's socket in `data_dir/events`, and the sending side for its writer."""

    def __init__(self, data_dir: Path, hub: ChangeHub) -> None:
        self.directory = Path(data_dir) / DIRECTORY
        self._hub = hub
        self.name = f"{os.getpid()}-{secrets.token_hex(4)}{SUFFIX}"
        self._dir_fd = -1
        self._sock: socket.socket | None = None
        self._send_sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.dropped = 0  # datagrams a full receiver refused (for tests and monitoring)

    def _path(self, name: str) -> str:
        return f"/proc/self/fd/{self._dir_fd}/{name}"

    def open(self) -> None:
        """Binds this store's socket and starts receiving on the running event loop."""
        files.private_dir(self.directory)
        self._dir_fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        sock.bind(self._path(self.name))
        sock.setblocking(False)
        self._sock = sock
        self._send_sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self._send_sock.setblocking(False)
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(sock.fileno(), self._receive)

    def close(self) -> None:
        if self._sock is not None:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
            with contextlib.suppress(OSError):
                os.unlink(self._path(self.name))
        if self._send_sock is not None:
            self._send_sock.close()
            self._send_sock = None
        if self._dir_fd >= 0:
            os.close(self._dir_fd)
            self._dir_fd = -1

    def send(self, changes: list[Change]) -> None:
        """To every other store on this data_dir (the writer thread calls this after a commit)."""
        sock = self._send_sock
        if not changes or sock is None:
            return
        try:
            peers = [n for n in os.listdir(self._dir_fd) if n.endswith(SUFFIX) and n != self.name]
        except OSError:
            log.warning("cannot list %s", self.directory, exc_info=True)
            return
        if not peers:
            return
        datagrams = encode(changes)
        for peer in peers:
            path = self._path(peer)
            for datagram in datagrams:
                try:
                    sock.sendto(datagram, path)
                except (ConnectionRefusedError, FileNotFoundError):
                    with contextlib.suppress(OSError):  # its store is gone; names are not reused
                        os.unlink(path)
                    break
                except PermissionError:
                    # a store opened by another user (the CLI run as root beside
                    # a server that dropped privileges): not ours to reach
                    log.debug("change channel %s is not ours to write to", peer)
                    break
                except BlockingIOError:
                    self.dropped += 1
                    log.debug("change channel %s is full; a change event was dropped", peer)
                except OSError as exc:
                    if exc.errno not in (errno.ENOTSOCK, errno.EPROTOTYPE):
                        log.warning("change channel %s: %s", peer, exc)
                    break

    def _receive(self) -> None:
        sock = self._sock
        if sock is None:
            return
        while True:
            try:
                datagram = sock.recv(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                log.warning("change channel receive failed", exc_info=True)
                return
            for change in decode(datagram):
                self._hub.publish(change, local_only=True)
