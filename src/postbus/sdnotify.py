"""The systemd notification protocol (sd_notify(3)), without libsystemd.

A service of `Type=notify` finds the socket in $NOTIFY_SOCKET (a path, or an
abstract name written with a leading "@") and sends datagrams of
newline-separated assignments: READY=1 once it serves, STOPPING=1 when it
begins to shut down, WATCHDOG=1 at least every $WATCHDOG_USEC microseconds
when the unit sets `WatchdogSec=`. Outside systemd none of these variables is
set and every call here does nothing.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger("postbus.sdnotify")


def notify(state: str) -> bool:
    """Sends `state` (e.g. "READY=1") to the service manager; False when there is none."""
    path = os.environ.get("NOTIFY_SOCKET", "")
    if not path:
        return False
    address = "\0" + path[1:] if path.startswith("@") else path
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            # Never block: a manager that does not read must not stop the server.
            sock.send(state.encode(), socket.MSG_DONTWAIT)
    except BlockingIOError:
        log.debug("the service manager's socket is full; %s not sent", state)
        return False
    except OSError as exc:
        log.warning("cannot notify the service manager (%s): %s", state, exc)
        return False
    return True


def watchdog_interval() -> float | None:
    """Seconds between WATCHDOG=1 pings (half the manager's timeout), or None
    when no watchdog is asked of this process."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        return None
    return int(usec) / 2e6
