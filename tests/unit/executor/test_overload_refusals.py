"""A login while the cpu pool is saturated gets the protocol's temporary refusal (POP3
-ERR [SYS/TEMP], IMAP NO [UNAVAILABLE]), and the session stays usable: once the pool
drains, the same connection logs in."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from postbus.executor import CPU, CPU_MAX_WAITING, CPU_WORKERS
from tests.unit.imap.harness import PASSWORD as IMAP_PASSWORD
from tests.unit.imap.harness import USER, running
from tests.unit.pop3.pop3_helpers import ANNA, PASSWORD, connect, make_app


async def test_pop3_login_refused_with_sys_temp_while_the_cpu_pool_is_full(tmp_path: Path) -> None:
    app = await make_app(tmp_path / "data")
    gate = threading.Event()
    blockers: list[asyncio.Future[bool]] = []
    try:
        async with connect(app) as client:
            # every cpu thread busy and every waiting place taken
            capacity = CPU_WORKERS + CPU_MAX_WAITING
            blockers = [asyncio.ensure_future(app.executor.run(CPU, gate.wait))
                        for _ in range(capacity)]
            await asyncio.sleep(0)
            assert app.executor.in_flight(CPU) == capacity

            assert await client.cmd(f"USER {ANNA}") == b"+OK Send your password\r\n"
            assert await client.cmd(f"PASS {PASSWORD}") == (
                b"-ERR [SYS/TEMP] Server busy, try again later\r\n")
            assert app.executor.overloaded[CPU] == 1
            assert client.session.auth_failures == 0  # not held against the user

            gate.set()
            await asyncio.gather(*blockers)
            assert (await client.login()).startswith(b"+OK Logged in")
    finally:
        gate.set()
        await asyncio.gather(*blockers)
        await app.close()


async def test_imap_login_refused_with_unavailable_while_the_cpu_pool_is_full(tmp_path: Path) -> None:
    gate = threading.Event()
    blockers: list[asyncio.Future[bool]] = []
    async with running(tmp_path / "var") as imap:
        try:
            client = await imap.client(login=False)
            capacity = CPU_WORKERS + CPU_MAX_WAITING
            blockers = [asyncio.ensure_future(imap.app.executor.run(CPU, gate.wait))
                        for _ in range(capacity)]
            await asyncio.sleep(0)
            assert await client.command(f"LOGIN {USER} {IMAP_PASSWORD}") == [
                b"TAG NO [UNAVAILABLE] Server busy, try again later\r\n"]
            gate.set()
            await asyncio.gather(*blockers)
            await client.login()
            await client.close()
        finally:
            gate.set()
            await asyncio.gather(*blockers)
