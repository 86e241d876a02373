"""Test helpers around a server's data: set up mailboxes through the CLI, and read
what was delivered through the store contract, so the same tests run on either
backend. Opening the store beside a running server is safe: migrations are
already applied, and only old temporary files are cleared.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import TypeVar

from postbus.store import Store
from tests.support.server import postbus

T = TypeVar("T")

PASSWORD = "Tq7#mZ2v!pLx"


def data_dir(config: Path) -> Path:
    settings = tomllib.loads(config.read_text())
    return (config.parent / settings.get("data_dir", "var")).resolve()


def add_domain(config: Path, name: str) -> None:
    postbus(config, "domain", "add", name)


def add_user(config: Path, address: str, password: str = PASSWORD, quota: str | None = None) -> None:
    args = ["user", "add", address, "--password-stdin"]
    if quota is not None:
        args += ["--quota", quota]
    postbus(config, *args, stdin=password + "\n")


def add_alias(config: Path, source: str, *targets: str) -> None:
    postbus(config, "alias", "add", source, *targets)


def set_quota(config: Path, address: str, size: str) -> None:
    postbus(config, "user", "quota", address, size)


def setup(config: Path, domains: Iterable[str], users: Iterable[str],
          aliases: dict[str, list[str]] | None = None) -> None:
    for domain in domains:
        add_domain(config, domain)
    for user in users:
        add_user(config, user)
    for source, targets in (aliases or {}).items():
        add_alias(config, source, *targets)


def _read(config: Path, fn: Callable[[Store], Awaitable[T]]) -> T:
    """Runs `fn` on the configured store (either backend), from any thread or loop."""
    from tests.support.mail import _in_thread, _with_store

    return _in_thread(lambda: _with_store(config, fn))


def read_blob(config: Path, blob_id: str) -> bytes:
    return _read(config, lambda store: store.read_blob(blob_id))


async def _folder(store: Store, address: str, folder: str) -> list[bytes]:
    account = await store.get_account(address)
    box = None if account is None else await store.get_mailbox(account.id, folder)
    if box is None:
        return []
    entries = await store.list_messages(box.id)
    infos = await store.fetch_info(box.id, [e.uid for e in entries])
    return [await store.read_blob(info.blob_id) for info in infos]


def inbox(config: Path, address: str, folder: str = "INBOX") -> list[bytes]:
    """The raw messages in a folder of `address`, in UID order."""
    return _read(config, lambda store: _folder(store, address, folder))


def all_messages(config: Path) -> list[bytes]:
    """Every stored message of every account and folder."""

    async def collect(store: Store) -> list[bytes]:
        out: list[bytes] = []
        for account in await store.list_accounts():
            for box in await store.list_mailboxes(account.id):
                out += await _folder(store, account.address, box.name)
        return out

    return _read(config, collect)


def queue(config: Path) -> list[tuple[str, list[dict[str, str]], bytes]]:
    """(sender, recipient records, raw message) of every queue item."""

    async def collect(store: Store) -> list[tuple[str, list[dict[str, str]], bytes]]:
        return [(item.sender, [dataclasses.asdict(r) for r in item.recipients],
                 await store.read_blob(item.blob_id))
                for item in await store.list_queue()]

    return _read(config, collect)


def split_trace(raw: bytes) -> tuple[list[bytes], bytes]:
    """Our prepended trace fields (Return-Path, Authentication-Results, Received) and the rest."""
    fields: list[bytes] = []
    rest = raw
    names = (b"return-path:", b"received:", b"authentication-results:")
    while rest.lower().startswith(names):
        end = rest.find(b"\r\n")
        while rest[end + 2 : end + 3] in (b" ", b"\t"):
            end = rest.find(b"\r\n", end + 2)
        fields.append(rest[: end + 2])
        rest = rest[end + 2 :]
    return fields, rest


DOMAIN = "example.test"
STATIC_DNS = {"A localhost.invalid": ["127.0.0.1"]}  # any table: no network lookups


def mail_config(directory: Path, overrides: dict[str, dict[str, object]] | None = None,
                **top: object) -> Path:
    """A server config (static DNS: no network) with example.test, mailboxes anna and
    bob (password PASSWORD), and the alias info@example.test -> anna."""
    from tests.support.server import write_config

    sections: dict[str, dict[str, object]] = {"dns": {"static": STATIC_DNS}}
    for name, values in (overrides or {}).items():
        sections.setdefault(name, {}).update(values)
    config = write_config(directory, sections, **top)
    setup(config, [DOMAIN], [f"anna@{DOMAIN}", f"bob@{DOMAIN}"], {f"info@{DOMAIN}": [f"anna@{DOMAIN}"]})
    return config
