"""`postbus backup`, `restore` and `check`.

The backup runs against a live server while smtplib delivers in a thread; the
backup is restored into a new data_dir, where every message acknowledged (250)
before the backup started is found byte for byte and `postbus check` reports
nothing. `check` finds a missing body, a flipped byte (file and inline) and an
orphan file, and `--fix` removes only the orphan; on PostgreSQL it finds a
corrupt and a missing body row. A body collected between the snapshot and its
copy makes the backup take a new snapshot.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import smtplib
import sqlite3
import threading
import time
import uuid
from pathlib import Path

import asyncpg
import pytest

from postbus.store import blobs
from postbus.store.sqlite import backup as backup_mod
from tests.support.mail import deliver_sync
from tests.support.mailstore import DOMAIN, all_messages, data_dir, mail_config, split_trace
from tests.support.pg import throwaway_database
from tests.support.server import postbus, running_server, write_config

ANNA = f"anna@{DOMAIN}"
SQLITE = {"storage": {"backend": "sqlite"}}
# Messages delivered before the backup starts, and at least this many during it.
BEFORE = 40
DURING = 10


def message(n: int, big: bool) -> bytes:
    # Big ones (> blobs.INLINE_LIMIT) are body files, the others rows of blobs_inline.
    text = f"line of a big attachment {n}\r\n" * (4000 if big else 3)
    return (f"From: bob@remote.test\r\nTo: {ANNA}\r\nSubject: load {n}\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@remote.test>\r\n\r\n{text}").encode()


class Sender(threading.Thread):
    """Delivers messages one SMTP transaction each until stopped; records each 250."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.acked: list[bytes] = []
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as client:
                n = 0
                while not self.stop.is_set():
                    raw = message(n, big=n % 3 == 0)
                    refused = client.sendmail("bob@remote.test", [ANNA], raw)
                    assert not refused
                    self.acked.append(raw)  # after the 250 to the end of data
                    n += 1
        except BaseException as exc:  # reported by the test
            self.error = exc


def wait_for(predicate: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_backup_under_smtp_load_restores_every_acknowledged_message(tmp_path: Path) -> None:
    (tmp_path / "live").mkdir()
    (tmp_path / "new").mkdir()
    config = mail_config(tmp_path / "live", SQLITE)
    dest = tmp_path / "backup"
    with running_server(config) as server:
        sender = Sender(server.port("smtp"))
        sender.start()
        wait_for(lambda: len(sender.acked) >= BEFORE or sender.error is not None)
        acked_before = list(sender.acked)
        goal = len(acked_before) + DURING
        done = postbus(config, "backup", str(dest))
        live = postbus(config, "check", check=False)  # beside the deliveries: nothing to report
        assert live.returncode == 0, live.stdout
        wait_for(lambda: len(sender.acked) >= goal or sender.error is not None)
        sender.stop.set()
        sender.join(60)
        assert sender.error is None, sender.error
    assert "verified" in done.stdout, done.stdout
    assert (dest / backup_mod.MANIFEST).is_file()
    assert not list(tmp_path.glob("backup.partial-*"))
    assert list((dest / "blobs").glob("*/*/*")), "no body file was copied"

    restored = write_config(tmp_path / "new", SQLITE, data_dir="restored")
    result = postbus(restored, "restore", str(dest))
    assert "verified" in result.stdout
    checked = postbus(restored, "check")
    assert checked.stdout.strip().splitlines() == [checked.stdout.strip().splitlines()[-1]]
    assert " 0 missing, 0 corrupt, 0 orphan files" in checked.stdout

    stored = {split_trace(raw)[1] for raw in all_messages(restored)}
    lost = [raw[:80] for raw in acked_before if raw not in stored]
    assert not lost, f"{len(lost)} acknowledged messages not restored: {lost[:3]}"
    with running_server(restored):  # the restored store serves
        pass

    again = postbus(restored, "restore", str(dest), check=False)
    assert again.returncode == 1 and "is not empty" in again.stderr
    refused = postbus(config, "backup", str(dest), check=False)
    assert refused.returncode == 1 and "not empty" in refused.stderr
    inside = postbus(config, "backup", str(data_dir(config) / "copy"), check=False)
    assert inside.returncode == 1 and "is inside data_dir" in inside.stderr
    assert not list((tmp_path / "new").glob("restored.partial-*"))


def _small_and_big(tmp_path: Path) -> tuple[Path, Path, str, str]:
    config = write_config(tmp_path, SQLITE)
    postbus(config, "domain", "add", DOMAIN)
    postbus(config, "user", "add", ANNA, "--password-stdin", stdin="Tq7#mZ2v!pLx\n")
    small, big = deliver_sync(config, ANNA, [message(1, big=False), message(2, big=True)])
    root = data_dir(config)
    db = sqlite3.connect(root / "postbus.sqlite3")
    try:
        (small_id,) = db.execute("SELECT blob_id FROM messages WHERE uid = ?", (small.uid,)).fetchone()
        (big_id,) = db.execute("SELECT blob_id FROM messages WHERE uid = ?", (big.uid,)).fetchone()
    finally:
        db.close()
    return config, root, small_id, big_id


def body_path(root: Path, blob_id: str) -> Path:
    return root / "blobs" / blob_id[:2] / blob_id[2:4] / blob_id


def test_check_reports_missing_corrupt_and_orphan_and_fixes_only_orphans(tmp_path: Path) -> None:
    config, root, small_id, big_id = _small_and_big(tmp_path)
    ok = postbus(config, "check")
    assert ok.stdout.strip() == "checked 2 bodies: 0 missing, 0 corrupt, 0 orphan files"
    assert body_path(root, big_id).is_file()

    # An orphan: a well-named body nothing references, older than the grace period.
    orphan_data = b"nobody's message\r\n"
    orphan_id = hashlib.sha256(orphan_data).hexdigest()
    orphan = body_path(root, orphan_id)
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(orphan_data)
    young = postbus(config, "check")
    assert young.returncode == 0  # young: it may belong to a delivery in flight
    old = time.time() - blobs.GC_GRACE_SECONDS - 60
    os.utime(orphan, (old, old))

    # A flipped byte in the body file, and in the inline row.
    path = body_path(root, big_id)
    data = bytearray(path.read_bytes())
    data[100] ^= 0x01
    path.write_bytes(bytes(data))
    db = sqlite3.connect(root / "postbus.sqlite3")
    with db:
        db.execute("UPDATE blobs_inline SET data = CAST(? AS BLOB) WHERE id = ?",
                   (message(1, big=False).replace(b"load", b"lead"), small_id))
    db.close()
    bad = postbus(config, "check", check=False)
    assert bad.returncode == 1
    lines = bad.stdout.splitlines()
    assert f"corrupt body {big_id}" in lines and f"corrupt body {small_id}" in lines
    assert f"orphan file {orphan}" in lines
    assert lines[-1] == "checked 2 bodies: 0 missing, 2 corrupt, 1 orphan files"

    # The body file gone: missing.
    path.unlink()
    missing = postbus(config, "check", check=False)
    assert f"missing body {big_id}" in missing.stdout.splitlines()
    assert orphan.exists()  # nothing deleted without --fix

    fixed = postbus(config, "check", "--fix", check=False)
    assert fixed.returncode == 1  # the missing and corrupt bodies remain
    assert not orphan.exists()
    assert f"cannot fix missing body {big_id}: restore it from a backup" in fixed.stdout
    assert "(1 removed)" in fixed.stdout
    after = postbus(config, "check", check=False)
    assert after.stdout.splitlines()[-1] == "checked 2 bodies: 1 missing, 1 corrupt, 0 orphan files"


def test_backup_takes_a_new_snapshot_when_a_body_is_collected_meanwhile(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _config, root, _small_id, big_id = _small_and_big(tmp_path)
    real_snapshot = backup_mod._snapshot
    calls: list[int] = []

    def snapshot_then_collect(source: sqlite3.Connection, target: Path) -> sqlite3.Connection:
        dst = real_snapshot(source, target)
        if not calls:  # after the first snapshot: the big message expunged and collected
            db = sqlite3.connect(root / "postbus.sqlite3", isolation_level=None)
            db.execute("DELETE FROM messages WHERE blob_id = ?", (big_id,))
            db.close()
            body_path(root, big_id).unlink()
        calls.append(1)
        return dst

    monkeypatch.setattr(backup_mod, "_snapshot", snapshot_then_collect)
    report = backup_mod.backup(root, tmp_path / "copy")
    assert report.snapshots == 2 and len(calls) == 2
    assert report.messages == 1 and report.body_files == 0 and report.inline_bodies == 1
    assert backup_mod.verify(tmp_path / "copy") == []
    (tmp_path / "empty").mkdir()  # an existing empty data_dir is filled in place
    restored = backup_mod.restore(tmp_path / "copy", tmp_path / "empty")
    assert restored.messages == 1 and backup_mod.verify(tmp_path / "empty") == []


def test_backup_refuses_a_corrupt_body_and_leaves_no_partial_copy(tmp_path: Path) -> None:
    config, root, _small_id, big_id = _small_and_big(tmp_path)
    path = body_path(root, big_id)
    path.write_bytes(path.read_bytes()[:-1])
    refused = postbus(config, "backup", str(tmp_path / "copy"), check=False)
    assert refused.returncode == 1 and f"body {big_id} in the store is corrupt" in refused.stderr
    assert not (tmp_path / "copy").exists() and not list(tmp_path.glob("copy.partial-*"))


def test_check_on_postgresql_finds_corrupt_and_missing_bodies(tmp_path: Path) -> None:
    with throwaway_database() as url:
        config = write_config(tmp_path, {"storage": {"backend": "postgresql", "url": url}})
        postbus(config, "domain", "add", DOMAIN)
        postbus(config, "user", "add", ANNA, "--password-stdin", stdin="Tq7#mZ2v!pLx\n")
        deliver_sync(config, ANNA, [message(1, big=False), message(2, big=True)])
        ok = postbus(config, "check")
        assert ok.stdout.strip() == "checked 2 bodies: 0 missing, 0 corrupt, 0 orphan files"

        async def damage() -> tuple[str, str]:
            conn = await asyncpg.connect(url)
            try:
                first, second = [r[0] for r in await conn.fetch("SELECT blob_id FROM messages ORDER BY uid")]
                await conn.execute("UPDATE blobs SET data = overlay(data placing '\\x00'::bytea from 5)"
                                   " WHERE id = $1", first)
                await conn.execute("DELETE FROM blobs WHERE id = $1", second)
                return first, second
            finally:
                await conn.close()

        corrupt, missing = asyncio.run(damage())
        bad = postbus(config, "check", "--fix", check=False)
        assert bad.returncode == 1
        lines = bad.stdout.splitlines()
        assert f"corrupt body {corrupt}" in lines and f"missing body {missing}" in lines
        assert f"cannot fix missing body {missing}: restore it from a backup (pg_dump)" in lines
        refused = postbus(config, "backup", str(tmp_path / "copy"), check=False)
        assert refused.returncode == 1 and "pg_dump" in refused.stderr
