"""Real client tools from Debian: in CI a missing tool fails the test, elsewhere it skips."""

from __future__ import annotations

import os
import shutil
import ssl

import pytest


def require_tool(name: str) -> str:
    """The path of `name`; fails the test in CI (CI=true) when it is missing, skips elsewhere."""
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if path:
        return path
    message = f"{name} is not installed (.ci/run installs it from Debian)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def trusting_tls() -> ssl.SSLContext:
    """A client TLS context that accepts the test server's self-signed certificate."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx
