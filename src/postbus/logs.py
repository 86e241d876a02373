"""Log output: today's text lines, or one JSON object per line for log shippers.

``[log] format = "json"`` writes each event as one JSON object (docs/logging.md):

    {"time": "2026-12-03T12:00:00.123Z", "level": "INFO", "logger": "postbus.imap",
     "proto": "imap", "listener": "imaps", "ip": "203.0.113.5", "port": 51234,
     "message": "login failed user=<redacted> method=LOGIN"}

A line about a connection carries the connection's four fields as keys of their
own (``net.connection.ConnectionLog`` hands them over with the record) and the
message without the text prefix; a traceback goes into ``"exception"``. Times are
UTC, in milliseconds.
"""

from __future__ import annotations

import datetime
import json
import logging
import sys
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMATS = ("text", "json")
# The attribute ConnectionLog sets on a record: (text prefix, fields).
CONNECTION_ATTR = "postbus_connection"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        event: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
        }
        connection = getattr(record, CONNECTION_ATTR, None)
        if connection is not None:
            prefix, fields = connection
            event.update(fields)
            if message.startswith(prefix + " "):
                message = message[len(prefix) + 1:]
        event["message"] = message
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            event["exception"] = record.exc_text
        if record.stack_info:
            event["stack"] = self.formatStack(record.stack_info)
        return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


def configure(level: str, fmt: str = "text") -> None:
    """Logs to standard error at ``level`` in ``fmt`` (one of :data:`FORMATS`)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
