"""Integration tests run on the embedded store, and again on PostgreSQL when
POSTBUS_TEST_STORAGE=postgresql (see tests/support/server.write_config)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.server import CREATED_DATABASES


@pytest.fixture(scope="session", autouse=True)
def _drop_test_databases() -> Iterator[None]:
    yield
    if CREATED_DATABASES:
        from tests.support.pg import drop_database

        for url in CREATED_DATABASES:
            drop_database(url)
        CREATED_DATABASES.clear()
