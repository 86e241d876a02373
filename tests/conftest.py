"""Suite-wide guards: an unhandled exception in any event-loop task or an ERROR
logged by Postbus fails the test that caused it, even when its assertions passed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest

_loop_errors: list[dict[str, Any]] = []
_original_handler = asyncio.BaseEventLoop.call_exception_handler


def _recording_handler(self: asyncio.BaseEventLoop, context: dict[str, Any]) -> None:
    _loop_errors.append(context)
    _original_handler(self, context)


asyncio.BaseEventLoop.call_exception_handler = _recording_handler  # type: ignore[method-assign]


class _ErrorRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def _no_unhandled_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    _loop_errors.clear()
    handler = _ErrorRecords()
    logger = logging.getLogger("postbus")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
    if request.node.get_closest_marker("allow_errors"):
        return
    problems = [str(c.get("exception") or c.get("message")) for c in _loop_errors]
    problems += [h.getMessage() + (f" ({h.exc_info[1]!r})" if h.exc_info else "") for h in handler.records]
    if problems:
        pytest.fail("unhandled errors during the test: " + "; ".join(problems))
