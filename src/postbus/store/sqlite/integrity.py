"""What the embedded store's bodies should be, checked: `postbus check`, and the
verification of a backup.

A message or a queue item references a body by its SHA-256 (`blobs.py`); the
body is a row of `blobs_inline` or a file `blobs/ab/cd/<sha256>`. `inspect`
reports every referenced body that is neither (missing), every body whose
bytes do not hash to its name (corrupt), and every file that nothing
references and that garbage collection's grace period no longer protects
(orphan). It runs beside a live server:

- References are read in one read transaction (a snapshot). A body reported
  missing or corrupt is checked again against the current state, so a message
  expunged and collected meanwhile is not reported.
- An unreferenced file younger than `blobs.GC_GRACE_SECONDS` may belong to a
  delivery that has not committed yet: it is not an orphan.
- Nothing is deleted unless asked (`fix=True`), and then only orphan files,
  through `blobs.collect_files` in a write transaction: the same re-check under
  the database's write lock, and the same claim by rename, that garbage
  collection uses, so a file a delivery renews or references meanwhile is kept.
  Missing and corrupt bodies cannot be repaired here: they are reported.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from postbus.store import blobs
from postbus.store.sqlite.db import connect

DB_NAME = "postbus.sqlite3"
BLOB_DIR = "blobs"
# Bytes read at a time while hashing a body file.
HASH_CHUNK = 1 << 20
# Problems listed one per line; past this many of a kind only the count is given.
REPORT_LIMIT = 100

_BLOB_NAME = re.compile(r"[0-9a-f]{64}")


@dataclass
class CheckReport:
    bodies: int = 0  # referenced bodies examined
    missing: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    orphans: list[Path] = field(default_factory=list)  # files nothing references
    removed: int = 0  # orphans deleted by fix=True
    unfixable: list[str] = field(default_factory=list)  # what fix=True cannot repair

    @property
    def problems(self) -> bool:
        return bool(self.missing or self.corrupt or len(self.orphans) > self.removed)

    def lines(self) -> list[str]:
        out: list[str] = []
        for label, items in (("missing body", self.missing), ("corrupt body", self.corrupt),
                             ("orphan file", [str(p) for p in self.orphans])):
            out += [f"{label} {item}" for item in items[:REPORT_LIMIT]]
            if len(items) > REPORT_LIMIT:
                out.append(f"... and {len(items) - REPORT_LIMIT} more of: {label}")
        out += self.unfixable
        return out

    def summary(self) -> str:
        text = (f"checked {self.bodies} bodies: {len(self.missing)} missing, {len(self.corrupt)} corrupt,"
                f" {len(self.orphans)} orphan files")
        if self.removed:
            text += f" ({self.removed} removed)"
        return text


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def referenced_ids(conn: sqlite3.Connection) -> set[str]:
    """Every body a message or a queue item references (`blobs.referenced`, in bulk)."""
    return {row[0] for row in conn.execute("SELECT blob_id FROM messages UNION SELECT blob_id FROM queue")}


def inline_digest_ok(conn: sqlite3.Connection, blob_id: str) -> bool | None:
    """Whether the inline row hashes to its name; None when there is no row."""
    row = conn.execute("SELECT data FROM blobs_inline WHERE id = ?", (blob_id,)).fetchone()
    if row is None:
        return None
    return hashlib.sha256(bytes(row[0] or b"")).hexdigest() == blob_id


def body_files(root: Path) -> list[Path]:
    """Every file under the body directories (`ab/cd/name`), whatever its name."""
    return sorted(p for p in root.glob("*/*/*") if p.parent.parent.parent == root and p.is_file()
                  and p.parent.parent.name != "tmp")


def _file_ok(files: blobs.FileBlobStore, blob_id: str) -> bool | None:
    try:
        return sha256_file(files.path(blob_id)) == blob_id
    except FileNotFoundError:
        return None


def verify_bodies(conn: sqlite3.Connection, files: blobs.FileBlobStore,
                  ids: set[str]) -> tuple[list[str], list[str]]:
    """(missing, corrupt) among `ids`: each is an inline row or a file, hashing to its name."""
    missing, corrupt = [], []
    for blob_id in sorted(ids):
        ok = inline_digest_ok(conn, blob_id)
        if ok is None:
            ok = _file_ok(files, blob_id)
        if ok is None:
            missing.append(blob_id)
        elif not ok:
            corrupt.append(blob_id)
    return missing, corrupt


def inspect(data_dir: Path, *, fix: bool = False, now: float | None = None) -> CheckReport:
    """`postbus check` on the embedded store (see the module docstring)."""
    db_path = data_dir / DB_NAME
    if not db_path.is_file():
        raise FileNotFoundError(f"no embedded store at {db_path}")
    files = blobs.FileBlobStore(data_dir / BLOB_DIR)
    cutoff = (time.time() if now is None else now) - blobs.GC_GRACE_SECONDS
    report = CheckReport()
    conn = connect(db_path, readonly=True)
    try:
        conn.execute("BEGIN")  # one snapshot for the references and the inline rows
        try:
            refs = referenced_ids(conn)
            on_disk = body_files(files.root)  # listed after the snapshot: a new file is young
            in_files: set[str] = set()
            missing: list[str] = []
            corrupt: list[str] = []
            for blob_id in sorted(refs):
                ok = inline_digest_ok(conn, blob_id)
                if ok is None:
                    in_files.add(blob_id)
                elif not ok:
                    corrupt.append(blob_id)
        finally:
            conn.execute("COMMIT")  # the files are hashed outside it: the WAL can be checkpointed
        for blob_id in sorted(in_files):
            ok = _file_ok(files, blob_id)
            if ok is None:
                missing.append(blob_id)
            elif not ok:
                corrupt.append(blob_id)
        report.bodies = len(refs)
        if missing or corrupt:  # expunged and collected since the snapshot?
            still = referenced_ids(conn)
            missing2, corrupt2 = verify_bodies(conn, files, {b for b in missing + corrupt if b in still})
            report.missing, report.corrupt = missing2, corrupt2
        for path in on_disk:
            try:
                old = path.stat().st_mtime < cutoff
            except FileNotFoundError:
                continue
            misplaced = not _BLOB_NAME.fullmatch(path.name) or files.path(path.name) != path
            if (misplaced or path.name not in refs) and old:
                report.orphans.append(path)
        report.orphans = [p for p in report.orphans
                          if not _BLOB_NAME.fullmatch(p.name) or not _referenced_now(conn, p.name)]
    finally:
        conn.close()
    if fix:
        _fix(db_path, files, report, cutoff)
    return report


def _referenced_now(conn: sqlite3.Connection, blob_id: str) -> bool:
    return blobs.referenced(conn, blob_id)


def _fix(db_path: Path, files: blobs.FileBlobStore, report: CheckReport, cutoff: float) -> None:
    """Removes the orphans; says what it cannot repair."""
    named = [p.name for p in report.orphans if files.path(p.name) == p]
    stray = [p for p in report.orphans if files.path(p.name) != p]
    conn = connect(db_path)
    try:
        conn.execute("BEGIN IMMEDIATE")  # the write lock garbage collection takes (blobs.py)
        try:
            report.removed = blobs.collect_files(conn, files, named, cutoff)
        finally:
            conn.execute("COMMIT")
    finally:
        conn.close()
    for path in stray:  # not a body's name or place: no transaction can reference it
        try:
            path.unlink()
            report.removed += 1
        except FileNotFoundError:
            pass
    for blob_id in report.missing:
        report.unfixable.append(f"cannot fix missing body {blob_id}: restore it from a backup")
    for blob_id in report.corrupt:
        report.unfixable.append(f"cannot fix corrupt body {blob_id}: restore it from a backup")
