"""Nothing Postbus writes under data_dir is readable by group or other, whatever the
umask it was started with (security/files.py); a data directory left open is fixed
at start with one warning."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from postbus.app import App
from postbus.config import Settings
from postbus.net.tls import ensure_self_signed
from postbus.security import files
from postbus.store import blobs
from postbus.store.sqlite.backend import SqliteStore


@pytest.fixture(autouse=True)
def lax_umask() -> Iterator[None]:
    """The usual default umask: 0644 files and 0755 directories unless told otherwise."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_new_embedded_store_is_private(tmp_path: Path) -> None:
    data = tmp_path / "srv" / "var"
    store = SqliteStore(data)
    await store.open()
    try:
        await store.add_domain("example.test")  # the first write makes -wal and -shm
        writer = store.blob_writer()
        body = b"Subject: big\r\n\r\n" + b"x" * (blobs.INLINE_LIMIT * 2)
        for start in range(0, len(body), 8192):  # spills to a file in blobs/tmp first
            writer.write(body[start:start + 8192])
        blob = await writer.finish()
        body_file = store.blobs.files.path(blob.id)
        # while open: the database and its WAL companions (removed again by the close)
        for name in ("postbus.sqlite3", "postbus.sqlite3-wal", "postbus.sqlite3-shm"):
            assert mode(data / name) == 0o600, name
    finally:
        await store.close()
    assert mode(data) == 0o700
    assert mode(data.parent) == 0o700  # made by us as well
    assert mode(body_file) == 0o600
    for directory in (body_file.parent, body_file.parent.parent, data / "blobs", data / "blobs" / "tmp"):
        assert mode(directory) == 0o700, directory


def test_the_self_signed_key_is_private(tmp_path: Path) -> None:
    cert, key = ensure_self_signed(tmp_path / "var", "mail.example.test")
    assert mode(key) == 0o600
    assert mode(key.parent) == 0o700
    assert cert.exists()


def test_open_private_makes_0600_even_over_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"old")
    os.chmod(path, 0o644)
    with files.open_private(path) as f:
        f.write(b"new")
    assert mode(path) == 0o600 and path.read_bytes() == b"new"


async def test_an_open_data_dir_is_made_private_at_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "var"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)
    app = App(Settings(hostname="mail.example.test", data_dir=str(data)))
    with caplog.at_level(logging.WARNING, logger="postbus.security"):
        await app.open()
        await app.close()
    assert mode(data) == 0o700
    warnings = [r.getMessage() for r in caplog.records if r.name == "postbus.security"]
    assert len(warnings) == 1 and "open to group or other (mode 0755)" in warnings[0]
    assert "\n" not in warnings[0]


def test_a_private_data_dir_is_left_alone(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = tmp_path / "var"
    data.mkdir(mode=0o700)
    with caplog.at_level(logging.WARNING, logger="postbus.security"):
        files.secure_data_dir(data)
    assert mode(data) == 0o700 and not caplog.records


def test_restrict_umask(tmp_path: Path) -> None:
    files.restrict_umask()
    (tmp_path / "plain").write_bytes(b"")
    assert mode(tmp_path / "plain") == 0o600
