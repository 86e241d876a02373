"""The suite's own guard: a test whose assertions pass still fails when an
event-loop task died with an unhandled exception or Postbus logged an ERROR."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SAMPLE = '''
import asyncio, logging

async def test_task_crash_is_caught():
    async def boom():
        raise RuntimeError("unhandled in a server task")
    task = asyncio.ensure_future(boom())
    await asyncio.sleep(0.01)
    del task
    import gc; gc.collect()
    await asyncio.sleep(0)
    assert True

def test_logged_error_is_caught():
    logging.getLogger("postbus.imap").error("session crashed")
    assert True

def test_clean():
    assert True
'''


def test_guard_fails_tests_with_unhandled_errors(tmp_path: Path) -> None:
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", "-p", "no:cacheprovider",
         "-o", "asyncio_mode=auto", "-W", "ignore::pytest.PytestUnraisableExceptionWarning",
         str(tmp_path / "test_sample.py")],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    out = result.stdout
    # The guard fails in the tests' teardown: pytest counts those as errors, and the run is red.
    assert result.returncode == 1, out
    assert "3 passed, 2 errors" in out, out
    assert "unhandled in a server task" in out and "session crashed" in out
