"""Both backends write their files under data_dir for the owner only, whatever the
umask (issue 10 item 4; security/files.py): the data directory and its spill
directory are 0700, a body spilled to disk while it streams in is 0600."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from postbus.store.contract import Store


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_spilled_body_and_its_directories_are_private(
    store: Store, tmp_path: Path
) -> None:
    old = os.umask(0o022)
    try:
        writer = store.blob_writer()
        chunk = b"Subject: big\r\n\r\n" + b"x" * 65536
        for _ in range(8):  # past either backend's 256 KiB spill threshold
            writer.write(chunk)
        spilled = writer._tmp_path  # type: ignore[attr-defined]
        assert spilled is not None and spilled.exists()
        assert mode(spilled) == 0o600
        assert mode(spilled.parent) == 0o700
        await writer.finish()
    finally:
        os.umask(old)
    assert mode(tmp_path / "data") == 0o700  # made by the store's open, under this umask

