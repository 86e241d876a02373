"""Who may read what Postbus writes to disk: the owner only.

``data_dir`` holds the SQLite database (Argon2 hashes, DKIM private keys),
message bodies, the self-signed TLS key and spill files. None of it is for
another local user, so:

* directories are made ``0700`` and files ``0600`` with those modes passed to
  ``mkdir`` / ``os.open`` explicitly, so that the result does not depend on the
  umask of whoever started the process;
* the processes also run under the umask :data:`UMASK` (``postbus`` sets it at
  start), for what libraries create on their own;
* at start (``postbus serve`` and every command that opens the store,
  through ``App.open``) a data directory that group or other may enter is
  *fixed*, not refused: it is made ``0700`` and one warning line says so,
  because that single change makes everything below it unreachable to them.
  A directory we cannot change (not its owner) is refused with one line
  (:class:`UnsafeDataDir`).
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger("postbus.security")

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
#: The process umask: nothing Postbus creates is readable by group or other.
UMASK = 0o077
#: Mode bits that let someone other than the owner in.
_OTHERS = stat.S_IRWXG | stat.S_IRWXO


class UnsafeDataDir(ValueError):
    """The data directory is open to group or other and cannot be made private
    (a ValueError: the CLI reports it as one line, like any bad setting)."""


def restrict_umask() -> None:
    """Run the rest of this process under :data:`UMASK`."""
    os.umask(UMASK)


def private_dir(path: Path) -> None:
    """Create ``path`` and its missing parents with mode 0700 (existing ones are left
    alone). ``mkdir``'s mode is masked by the umask, which can only remove bits."""
    missing: list[Path] = []
    while not path.is_dir():
        missing.append(path)
        if path.parent == path:
            break
        path = path.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:  # another process made it first, the same way
            continue


def secure_data_dir(path: Path) -> None:
    """Create the data directory 0700, or make an existing one 0700 with a warning."""
    if not path.is_dir():
        private_dir(path)
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if not mode & _OTHERS:
        return
    try:
        os.chmod(path, mode & ~_OTHERS)
    except PermissionError:
        raise UnsafeDataDir(
            f"data directory {path} is open to group or other (mode {mode:04o}) and is not "
            "ours to change: make it 0700") from None
    log.warning("data directory %s was open to group or other (mode %04o); made it %04o",
                path, mode, mode & ~_OTHERS)


def private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 if it does not exist; take group and other
    bits off an existing one (SQLite gives its -wal and -shm files the database's mode)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & _OTHERS:
            os.chmod(path, mode & ~_OTHERS)
        return
    os.close(fd)


def open_private(path: Path, *, truncate: bool = True) -> BinaryIO:
    """A new file for writing, mode 0600 whatever the umask (``open(path, "wb")`` makes 0644);
    with `truncate` False an existing file keeps its content (a lock file)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if truncate else 0)
    fd = os.open(path, flags, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)  # an existing file keeps its mode through O_CREAT
        return os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        raise
