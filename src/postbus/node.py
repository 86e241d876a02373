"""Which process of its node this one is, and whether a holder named in the store is gone.

A node runs as one process (`[server] workers = 1`), named as the node
(`NODE`), or as worker processes `NODE/w0` ... `NODE/wN-1` (`net.workers`).
Queue claims and leases in the store name the process that took them, so that
each is held by one process at a time; a claim or lease whose holder crashed
lapses after its time-to-live. Two rules let this node take back at once what
its own dead processes held, instead of waiting for that:

- A holder that names this node but a process the node does not run now is
  gone (`NodeProcess.gone`): the plain `NODE` while the node runs workers, a
  worker slot at or beyond the worker count (`workers` was lowered), any
  worker slot while the node runs as one process.
- A holder that names a process of this node that died is gone too, when the
  lease records which process it was (`process_mark`, "PID.START": the pid and
  the kernel's start time of that process, so a reused pid does not pass for
  the dead one; `mark_alive`). The POP3 maildrop lease carries one. So a login
  on worker 1 gets the maildrop a killed worker 0 held at once, whether or not
  worker 0's replacement has started (the supervisor's restart backoff may
  delay it by up to 30 s).

A whole node that crashed is none of these for the other nodes: its claims
and leases lapse after their time-to-live. Node names must be unique among the
nodes sharing a store, and must not themselves end in "/wN".
"""

from __future__ import annotations

import errno
import functools
import os
from dataclasses import dataclass

_WORKER = "/w"


def worker_node(node: str, index: int) -> str:
    """The name of worker `index` of `node`."""
    return f"{node}{_WORKER}{index}"


@dataclass(frozen=True)
class NodeProcess:
    """This process among those of its node: `node` is the node's configured name,
    `index` this worker's (None: the node runs as one process), `count` how many
    workers the node runs."""

    node: str
    index: int | None = None
    count: int = 1

    @property
    def name(self) -> str:
        """What claims and leases taken by this process name."""
        return self.node if self.index is None else worker_node(self.node, self.index)

    def ours(self, holder: str) -> bool:
        """Whether `holder` names a process of this node (this one included)."""
        return holder == self.node or _slot(self.node, holder) is not None

    def gone(self, holder: str) -> bool:
        """Whether `holder` names a process of this node that the node does not run now."""
        if holder == self.node:
            return self.index is not None
        slot = _slot(self.node, holder)
        return slot is not None and (self.index is None or slot >= self.count)


def _slot(node: str, holder: str) -> int | None:
    """N when `holder` is worker N of `node`."""
    prefix = node + _WORKER
    digits = holder[len(prefix):]
    if holder.startswith(prefix) and digits.isdigit() and str(int(digits)) == digits:
        return int(digits)
    return None


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (proc(5), /proc/PID/stat
    field 22), or None when /proc cannot say."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat.rpartition(b")")[2].split()  # the command name may hold spaces
    return fields[19].decode() if len(fields) > 19 else None


@functools.cache
def _mark_of(pid: int) -> str:
    start = _start_time(pid)
    return f"{pid}.{start}" if start is not None else str(pid)


def process_mark() -> str:
    """This process, as "PID.START" (just "PID" where /proc cannot say)."""
    return _mark_of(os.getpid())  # keyed by pid: a forked worker gets its own


def mark_alive(mark: str) -> bool:
    """Whether the process `process_mark` gave runs on this machine; True when it
    cannot be told (an unreadable mark, a pid that exists but /proc hides)."""
    pid_text, _, start = mark.partition(".")
    if not pid_text.isdigit():
        return True
    pid = int(pid_text)
    if pid <= 0:
        return True
    now = _start_time(pid)
    if now is not None:
        return not start or now == start
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno != errno.ESRCH
    return True
