from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.unit.imap.harness import Harness, running


@pytest.fixture
async def imap(tmp_path: Path) -> AsyncIterator[Harness]:
    async with running(tmp_path / "var") as harness:
        yield harness
