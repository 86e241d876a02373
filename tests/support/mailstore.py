"""Test helpers around a server's data: set up mailboxes through the CLI, and read
what was delivered straight from the embedded store, read-only.

Reading never opens the store through `SqliteStore.open()` (which would run
migrations and clear the blob store's temporary directory under a running
server): it queries the SQLite file in read-only mode and reads blob files.
"""

from __future__ import annotations

import json
import sqlite3
import tomllib
from collections.abc import Iterable
from pathlib import Path

from tests.support.server import postbus

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


def _connect(config: Path) -> sqlite3.Connection:
    path = data_dir(config) / "postbus.sqlite3"
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def read_blob(config: Path, blob_id: str) -> bytes:
    return (data_dir(config) / "blobs" / blob_id[:2] / blob_id[2:4] / blob_id).read_bytes()


def inbox(config: Path, address: str, folder: str = "INBOX") -> list[bytes]:
    """The raw messages in a folder of `address`, in UID order."""
    conn = _connect(config)
    try:
        rows = conn.execute(
            "SELECT m.blob_id FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id"
            " JOIN accounts a ON a.id = b.account_id WHERE a.address = ? AND b.name = ?"
            " ORDER BY m.uid", (address, folder)).fetchall()
    finally:
        conn.close()
    return [read_blob(config, blob_id) for (blob_id,) in rows]


def all_messages(config: Path) -> list[bytes]:
    conn = _connect(config)
    try:
        rows = conn.execute("SELECT blob_id FROM messages ORDER BY id").fetchall()
    finally:
        conn.close()
    return [read_blob(config, blob_id) for (blob_id,) in rows]


def queue(config: Path) -> list[tuple[str, list[dict[str, str]], bytes]]:
    """(sender, recipient records, raw message) of every queue item."""
    conn = _connect(config)
    try:
        rows = conn.execute("SELECT sender, recipients, blob_id FROM queue ORDER BY id").fetchall()
    finally:
        conn.close()
    return [(sender, json.loads(recipients), read_blob(config, blob_id))
            for sender, recipients, blob_id in rows]


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
