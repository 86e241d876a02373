"""Put messages into mailboxes for tests, the way delivery does: ingest (one
durable blob, parsed once) then `store.deliver` into the account's INBOX.

`deliver` works on an open `App` or `Store` inside a test's event loop.
`deliver_sync` and `create_mailboxes_sync` work from a synchronous test: they
open the store named by the config file on a fresh event loop in a worker
thread. SQLite lets this second writer in beside a running server (WAL, busy
timeout), but opening the store clears the blob store's temporary directory,
so call them before the server starts or while it writes nothing; and the
running server's in-process change hub does not hear of these deliveries
(POP3, which takes a snapshot at login, does not need it to).
`smtp_deliver` delivers through a running server's MX listener instead.
"""

from __future__ import annotations

import asyncio
import smtplib
import threading
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

from postbus.accounts.address import normalize_address
from postbus.app import App
from postbus.config import load
from postbus.delivery.ingest import ingest_bytes
from postbus.store import Store, make_store
from postbus.store.model import INBOX, Appended

T = TypeVar("T")


async def deliver(app_or_store: App | Store, address: str, raw: bytes) -> Appended:
    """Delivers `raw` to the INBOX of `address`; returns where it landed."""
    store = app_or_store.store if isinstance(app_or_store, App) else app_or_store
    account = await store.get_account(normalize_address(address))
    assert account is not None, f"no account {address}"
    inbox = await store.get_mailbox(account.id, INBOX)
    assert inbox is not None
    ingested = await ingest_bytes(store, raw)
    (result,) = await store.deliver([inbox.id], ingested.blob, ingested.parsed)
    if isinstance(result, Exception):
        raise result
    return result


def _in_thread(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Runs `work()` on a fresh event loop in another thread (safe inside a running loop)."""
    box: dict[str, Any] = {}

    def main() -> None:
        try:
            box["result"] = asyncio.run(work())
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=main)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    result: T = box["result"]
    return result


async def _with_store(config: Path, fn: Callable[[Store], Awaitable[T]]) -> T:
    store = make_store(load(config))
    await store.open()
    try:
        return await fn(store)
    finally:
        await store.close()


def deliver_sync(config: Path, address: str, messages: Sequence[bytes]) -> list[Appended]:
    """Delivers each message, in order, to the INBOX of `address` in the configured store."""

    async def work(store: Store) -> list[Appended]:
        return [await deliver(store, address, raw) for raw in messages]

    return _in_thread(lambda: _with_store(config, work))


def create_mailboxes_sync(config: Path, addresses: Sequence[str], password: str) -> None:
    """Creates the domains (when new) and the mailboxes, each with `password`.

    Like `deliver_sync`, this opens the store, which clears the blob store's
    temporary directory: call it before the server starts, or while it writes nothing.
    """

    async def work(store: Store) -> None:
        from postbus.accounts.service import Accounts

        accounts = Accounts(store, default_quota=1 << 30)
        try:
            for address in addresses:
                domain = normalize_address(address).rpartition("@")[2]
                if await store.get_domain(domain) is None:
                    await store.add_domain(domain)
                await accounts.add_user(address, password)
        finally:
            accounts.close()

    _in_thread(lambda: _with_store(config, work))


def create_mailbox_sync(config: Path, address: str, password: str) -> None:
    create_mailboxes_sync(config, [address], password)


def smtp_deliver(port: int, address: str, messages: Sequence[bytes],
                 sender: str = "bob@remote.test") -> None:
    """Delivers each message to `address` through the MX listener on `port`, as
    the internet would: one SMTP transaction per message, 8BITMIME when needed."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        for raw in messages:
            options = ["BODY=8BITMIME"] if not raw.isascii() else []
            refused = client.sendmail(sender, [address], raw, mail_options=options)
            assert not refused, refused
