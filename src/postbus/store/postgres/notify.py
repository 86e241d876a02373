"""Change events across nodes over LISTEN/NOTIFY.

A writer adds `pg_notify(CHANNEL, payload)` to its own transaction, so the
notification leaves only if the change committed. The payload names the node
that made the change: each node publishes its own changes locally right after
the commit and ignores the echo. A dedicated connection (outside the pool, so
it is never handed to a query) listens for the other nodes' changes and feeds
them into the local `ChangeHub`. When that connection drops it is re-opened
with backoff (a heartbeat query finds connections that died silently);
changes committed meanwhile are not replayed, which costs an IDLE client at
most the wait until its next command.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg

from postbus.store.events import ChangeHub
from postbus.store.model import Change

log = logging.getLogger(__name__)

CHANNEL = "postbus_changes"
RECONNECT_MIN_SECONDS = 0.1
RECONNECT_MAX_SECONDS = 5.0
CONNECT_TIMEOUT_SECONDS = 5.0
# A connection that died without the socket closing (a partition, a dead
# router) is found by a query at this interval.
HEARTBEAT_SECONDS = 30.0


def encode(node: str, change: Change) -> str:
    return f"{node} {change.account_id} {change.mailbox_id} {change.modseq} {change.kind}"


def decode(payload: str) -> tuple[str, Change] | None:
    parts = payload.split(" ")
    if len(parts) != 5:
        return None
    node, account_id, mailbox_id, modseq, kind = parts
    try:
        return node, Change(int(account_id), int(mailbox_id), int(modseq), kind)
    except ValueError:
        return None


class ChangeListener:
    """Holds the LISTEN connection for one store and re-opens it when it drops."""

    def __init__(
        self, url: str, node: str, hub: ChangeHub, *, heartbeat: float = HEARTBEAT_SECONDS
    ) -> None:
        self._url = url
        self._heartbeat = heartbeat
        self._node = node
        self._hub = hub
        self._conn: Any = None
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self.connected = asyncio.Event()  # set while LISTEN is active

    async def start(self) -> None:
        """Listens before returning, so no change committed afterwards is missed."""
        await self._connect()
        self._task = asyncio.create_task(self._supervise(), name="postbus-pg-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._disconnect()

    @property
    def backend_pid(self) -> int | None:
        """The server process of the LISTEN connection (tests terminate it)."""
        return None if self._conn is None else int(self._conn.get_server_pid())

    async def _connect(self) -> None:
        conn = await asyncpg.connect(self._url, timeout=CONNECT_TIMEOUT_SECONDS)
        try:
            conn.add_termination_listener(self._on_terminated)
            await conn.add_listener(CHANNEL, self._on_notify)
        except BaseException:
            await conn.close()
            raise
        self._lost.clear()
        self._conn = conn
        self.connected.set()

    async def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        self.connected.clear()
        if conn is not None and not conn.is_closed():
            conn.remove_termination_listener(self._on_terminated)
            try:
                await conn.close(timeout=CONNECT_TIMEOUT_SECONDS)
            except Exception:  # a broken connection: drop it without the goodbye
                conn.terminate()

    def _on_terminated(self, conn: Any) -> None:
        if conn is self._conn:
            self._lost.set()

    def _on_notify(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        decoded = decode(payload)
        if decoded is None:
            log.warning("ignored a malformed change notification %r", payload)
            return
        node, change = decoded
        if node != self._node:
            self._hub.publish(change, local_only=True)

    async def _alive(self) -> bool:
        try:
            await self._conn.fetchval("SELECT 1", timeout=CONNECT_TIMEOUT_SECONDS)
        except Exception:  # whatever broke, the cure is a new connection
            return False
        return True

    async def _supervise(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._lost.wait(), self._heartbeat)
            except TimeoutError:
                if await self._alive():
                    continue
            log.warning("change listener connection lost; reconnecting")
            await self._disconnect()
            delay = RECONNECT_MIN_SECONDS
            while True:
                await asyncio.sleep(delay)
                try:
                    await self._connect()
                except Exception as exc:  # any failure: keep trying, the node must recover
                    log.warning("change listener reconnect failed: %s", exc)
                    delay = min(delay * 2, RECONNECT_MAX_SECONDS)
                else:
                    log.warning("change listener reconnected")
                    break
