"""`postbus backup DEST` and `postbus restore SRC` for the embedded store.

A backup is a directory laid out as a data_dir: `postbus.sqlite3`, the body
files it references under `blobs/`, the `tls/` files, and a manifest
`postbus-backup.json`. It is taken while the server runs:

- The database is copied with SQLite's online backup API in ONE step
  (`Connection.backup(pages=-1)`): one read transaction, so one consistent
  snapshot, however many writers commit meanwhile (WAL readers do not block
  them). Small bodies live in `blobs_inline` and come with it.
- Then every body file the copy references is copied, its SHA-256 checked
  against its name as it is read. A file referenced by the snapshot can vanish
  only one way: its messages were expunged after the snapshot and garbage
  collection, an hour's grace later, removed it (blobs.py: it deletes only
  what no committed transaction references). That makes the snapshot useless
  for that body, not wrong for the others: the database is copied again (a
  newer snapshot, which no longer references it) and only the bodies not yet
  copied are read; bodies copied for the old snapshot and not referenced by
  the new one are dropped. At most `SNAPSHOT_ATTEMPTS` snapshots.
- The result is built in `DEST.partial-*` beside DEST, verified
  (`PRAGMA integrity_check`, every referenced body present and hashing to its
  name, no stray file), flushed to disk, and only then renamed to DEST: a DEST
  that exists is a complete, verified backup.

`restore` copies a verified backup into an empty (or absent) data_dir and
verifies the result; it refuses a data_dir with anything in it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from postbus.security import files as secure
from postbus.store import blobs
from postbus.store.sqlite import integrity
from postbus.store.sqlite.db import connect

log = logging.getLogger(__name__)

MANIFEST = "postbus-backup.json"
FORMAT = 1
TLS_DIR = "tls"
# Snapshots taken at most when bodies are collected between a snapshot and their copy.
SNAPSHOT_ATTEMPTS = 5


class BackupError(Exception):
    """A refusal or a failed verification, in one line for the operator."""


@dataclass
class BackupReport:
    messages: int = 0
    inline_bodies: int = 0
    body_files: int = 0
    body_bytes: int = 0
    snapshots: int = 0
    seconds: float = 0.0


def read_only_uri(path: Path) -> str:
    return path.absolute().as_uri() + "?mode=ro"  # as_uri escapes '?', '#' and spaces


def _empty(path: Path) -> bool:
    return not path.exists() or (path.is_dir() and not any(path.iterdir()))


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_body(src: Path, dst: Path, blob_id: str) -> int:
    """Copies one body file, checking its hash on the way; returns its size.
    FileNotFoundError when it is gone; BackupError when it does not hash to its name.
    Not flushed here: the caller fsyncs every file at the end, when the kernel
    has written most of them back already (one fsync each, no waiting per copy)."""
    h = hashlib.sha256()
    size = 0
    dst.parent.mkdir(parents=True, exist_ok=True, mode=secure.PRIVATE_DIR)
    tmp = dst.with_name(dst.name + ".part")
    with open(src, "rb") as fin, secure.open_private(tmp) as fout:
        while chunk := fin.read(integrity.HASH_CHUNK):
            h.update(chunk)
            size += len(chunk)
            fout.write(chunk)
    if h.hexdigest() != blob_id:
        tmp.unlink()
        raise BackupError(f"body {blob_id} in the store is corrupt (run `postbus check`)")
    os.replace(tmp, dst)
    return size


def _snapshot(source: sqlite3.Connection, target: Path) -> sqlite3.Connection:
    target.unlink(missing_ok=True)
    dst = sqlite3.connect(target, isolation_level=None)
    source.backup(dst, pages=-1)  # one step: one read transaction, one snapshot
    dst.execute("PRAGMA journal_mode = DELETE")  # a backup is one self-contained file
    return dst


def backup(data_dir: Path, dest: Path) -> BackupReport:
    """Copies the running (or stopped) embedded store at `data_dir` to `dest`."""
    started = time.monotonic()
    db_path = data_dir / integrity.DB_NAME
    if not db_path.is_file():
        raise BackupError(f"no embedded store at {db_path}")
    if not _empty(dest):
        raise BackupError(f"{dest} exists and is not empty: a backup goes to a new directory")
    dest = dest.absolute()
    if dest.resolve().is_relative_to(data_dir.resolve()):
        raise BackupError(f"{dest} is inside data_dir {data_dir}: put the backup elsewhere")
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = dest.parent / f"{dest.name}.partial-{secrets.token_hex(4)}"
    work.mkdir(mode=secure.PRIVATE_DIR)
    try:
        report = _build(data_dir, work)
        _verify_or_raise(work)
        (work / MANIFEST).write_text(json.dumps({
            "format": FORMAT, "created": time.time(), "messages": report.messages,
            "inline_bodies": report.inline_bodies, "body_files": report.body_files,
        }) + "\n")
        for path in sorted(work.rglob("*"), reverse=True):  # files, then their directories
            _fsync_path(path)
        _fsync_path(work)
        if dest.exists():
            dest.rmdir()  # empty, checked above
        os.rename(work, dest)
        _fsync_path(dest.parent)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    report.seconds = time.monotonic() - started
    return report


def _build(data_dir: Path, work: Path) -> BackupReport:
    source_files = blobs.FileBlobStore(data_dir / integrity.BLOB_DIR)
    target_root = work / integrity.BLOB_DIR
    copied: dict[str, int] = {}  # body files copied so far, with their sizes
    report = BackupReport()
    source = connect(data_dir / integrity.DB_NAME, readonly=True)
    try:
        for attempt in range(1, SNAPSHOT_ATTEMPTS + 1):
            report.snapshots = attempt
            dst = _snapshot(source, work / integrity.DB_NAME)
            try:
                refs = integrity.referenced_ids(dst)
                inline = {r[0] for r in dst.execute("SELECT id FROM blobs_inline")}
                report.messages = dst.execute("SELECT count(*) FROM messages").fetchone()[0]
            finally:
                dst.close()
            wanted = refs - inline
            gone = []
            for blob_id in sorted(wanted - copied.keys()):
                try:
                    copied[blob_id] = _copy_body(source_files.path(blob_id),
                                                 target_root / blob_id[:2] / blob_id[2:4] / blob_id,
                                                 blob_id)
                except FileNotFoundError:
                    gone.append(blob_id)
            if not gone:
                break
            log.info("backup: %d bodies were collected after snapshot %d; taking a new one",
                     len(gone), attempt)
        else:
            raise BackupError(f"bodies kept disappearing during {SNAPSHOT_ATTEMPTS} snapshots;"
                              " is the store being emptied? try again")
    finally:
        source.close()
    for blob_id in copied.keys() - wanted:  # copied for an older snapshot only
        (target_root / blob_id[:2] / blob_id[2:4] / blob_id).unlink()
        del copied[blob_id]
    for sub in sorted(target_root.glob("*/*"), reverse=True) if target_root.exists() else []:
        if not any(sub.iterdir()):
            sub.rmdir()
    _copy_tls(data_dir / TLS_DIR, work / TLS_DIR)
    report.inline_bodies = len(refs & inline)
    report.body_files = len(copied)
    report.body_bytes = sum(copied.values())
    return report


def _copy_tls(src: Path, dst: Path) -> None:
    """Certificates and keys the server made or fetched (self-signed, ACME)."""
    if not src.is_dir():
        return
    dst.mkdir(mode=secure.PRIVATE_DIR, exist_ok=True)
    for item in src.iterdir():
        if item.is_file():
            shutil.copy2(item, dst / item.name)


def verify(directory: Path) -> list[str]:
    """Problems of a backup or a data_dir, one line each; empty when it is whole."""
    db_path = directory / integrity.DB_NAME
    if not db_path.is_file():
        return [f"no database {db_path}"]
    conn = sqlite3.connect(read_only_uri(db_path), uri=True, isolation_level=None)
    try:
        result = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if result != ["ok"]:
            return [f"database: {line}" for line in result]
        files = blobs.FileBlobStore(directory / integrity.BLOB_DIR)
        refs = integrity.referenced_ids(conn)
        missing, corrupt = integrity.verify_bodies(conn, files, refs)
    finally:
        conn.close()
    problems = [f"missing body {b}" for b in missing] + [f"corrupt body {b}" for b in corrupt]
    for path in integrity.body_files(files.root):
        if path.name not in refs or files.path(path.name) != path:
            problems.append(f"unexpected file {path}")
    return problems


def _verify_or_raise(directory: Path) -> None:
    problems = verify(directory)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise BackupError(f"verification of {directory} failed: {problems[0]}{more}")


def restore(source: Path, data_dir: Path) -> BackupReport:
    """Copies the backup `source` into `data_dir`, which must be empty or absent."""
    started = time.monotonic()
    if not (source / MANIFEST).is_file():
        raise BackupError(f"{source} is not a postbus backup (no {MANIFEST})")
    if not _empty(data_dir):
        raise BackupError(f"{data_dir} is not empty: restore goes into an empty data_dir"
                          " (move the old one away first)")
    _verify_or_raise(source)
    # An absent data_dir is built beside it and renamed into place, so an
    # interrupted restore leaves nothing that looks like a store; an existing
    # empty one (a mount point, say) is filled where it is.
    data_dir = data_dir.absolute()
    work = data_dir if data_dir.exists() else \
        data_dir.parent / f"{data_dir.name}.partial-{secrets.token_hex(4)}"
    report = BackupReport()
    try:
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        secure.private_dir(work)
        shutil.copy2(source / integrity.DB_NAME, work / integrity.DB_NAME)
        secure.private_file(work / integrity.DB_NAME)
        for path in integrity.body_files(source / integrity.BLOB_DIR):
            target = work / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True, mode=secure.PRIVATE_DIR)
            report.body_bytes += _copy_body(path, target, path.name)
            report.body_files += 1
        _copy_tls(source / TLS_DIR, work / TLS_DIR)
        for path in sorted(work.rglob("*"), reverse=True):
            _fsync_path(path)
        _fsync_path(work)
        _verify_or_raise(work)
    except BaseException:
        if work != data_dir:
            shutil.rmtree(work, ignore_errors=True)
        raise
    if work != data_dir:
        os.rename(work, data_dir)
        _fsync_path(data_dir.parent)
    conn = sqlite3.connect(read_only_uri(data_dir / integrity.DB_NAME), uri=True)
    try:
        report.messages = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
    finally:
        conn.close()
    report.seconds = time.monotonic() - started
    return report
