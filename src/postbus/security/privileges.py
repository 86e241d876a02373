"""Who `postbus serve` runs as once its listening sockets are open.

Started as root (to bind ports below 1024), the server opens every listening
socket first (`postbus.net.sockets`), makes `data_dir` (and everything in it,
the self-signed key included) belong to `[server] user`, then gives up root for
good: supplementary groups from that user's entries in the group database,
its primary group, then its uid (setgroups, setgid, setuid, in that order, so
that no step needs a privilege an earlier one gave up). The supervisor and
every worker then run as that user; a worker restarted later inherits the
open sockets and needs no privilege.

Started as root with no user configured, the server refuses to serve unless
`[server] allow_root = true` says that is meant. Started unprivileged (with
CAP_NET_BIND_SERVICE, or on ports above 1023) it needs neither and `user` is
ignored with one log line.
"""

from __future__ import annotations

import grp
import logging
import os
import pwd
from pathlib import Path

from postbus.config import Settings
from postbus.security import files

log = logging.getLogger("postbus.security")


class PrivilegeError(Exception):
    """Why the server will not run as configured, in one line."""


def _chown_tree(root: Path, uid: int, gid: int) -> int:
    """Gives `root` and everything below it (not following symbolic links) to uid:gid."""
    changed = 0
    for path in (root, *root.rglob("*")):
        st = path.lstat()
        if st.st_uid != uid or st.st_gid != gid:
            os.chown(path, uid, gid, follow_symlinks=False)
            changed += 1
    return changed


def drop(settings: Settings) -> None:
    """Leaves root for `[server] user` (see the module docstring); call it after
    the sockets are open and before any thread or worker starts."""
    name = settings.server.user
    if os.geteuid() != 0:
        if name:
            log.info("not started as root: server.user (%s) is not needed", name)
        return
    if not name:
        if settings.server.allow_root:
            log.info("serving as root (server.allow_root = true)")
            return
        raise PrivilegeError("refusing to serve as root: set [server] user to the unprivileged user"
                             " to run as, or [server] allow_root = true")
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise PrivilegeError(f"server.user: there is no user {name!r}") from None
    if entry.pw_uid == 0 and not settings.server.allow_root:
        raise PrivilegeError(f"server.user: {name!r} is root; name an unprivileged user")
    data_dir = Path(settings.data_dir)
    files.secure_data_dir(data_dir)
    changed = _chown_tree(data_dir, entry.pw_uid, entry.pw_gid)
    if changed:
        log.info("gave %d files in %s to %s", changed, data_dir, name)
    groups = sorted({entry.pw_gid} | {g.gr_gid for g in grp.getgrall() if name in g.gr_mem})
    os.setgroups(groups)
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)
    if entry.pw_uid != 0:
        try:
            os.setuid(0)
        except PermissionError:
            pass
        else:  # pragma: no cover - a kernel that let us back is not one to serve on
            raise PrivilegeError("could regain root after dropping privileges")
    os.environ["HOME"] = entry.pw_dir
    log.info("running as %s (uid %d, gid %d)", name, entry.pw_uid, entry.pw_gid)
