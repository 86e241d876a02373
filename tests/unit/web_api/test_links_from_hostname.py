"""CVE-2025-25198 was a password-reset link built from the request's Host header.
Our links and redirects are built from the configured hostname only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from postbus.app import App
from postbus.config import from_dict
from postbus.web.server import build_redirect, public_url


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    app = App(from_dict({"data_dir": str(tmp_path), "hostname": "mail.example.test",
                         "listen": {"https": "0.0.0.0:8443"}}))
    await app.open()
    yield app
    await app.close()


async def test_the_http_redirect_ignores_the_host_header(app: App) -> None:
    assert public_url(app) == "https://mail.example.test:8443"
    transport = httpx.ASGITransport(app=build_redirect(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://evil.example") as client:
        response = await client.get("/admin/login", headers={"Host": "evil.example"})
    assert response.status_code == 301
    assert response.headers["location"] == "https://mail.example.test:8443/admin/login"
