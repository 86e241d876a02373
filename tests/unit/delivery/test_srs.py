"""SRS addresses (libsrs2's guarded scheme): made, verified, refused when forged
or expired, chained through a second forwarder, and the secret kept in the store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from postbus.delivery import srs
from postbus.delivery.srs import (
    Srs,
    SrsError,
    forward,
    is_srs_local,
    reverse,
    timestamp,
    timestamp_ok,
)
from postbus.store.sqlite.backend import SqliteStore

KEY = b"0123456789abcdef0123456789abcdef"
OTHER = b"fedcba9876543210fedcba9876543210"
DAY = 86400.0
NOW = 20_000 * DAY + 3600  # a fixed day


def test_srs0_shape_and_round_trip() -> None:
    address = forward("Alice.Smith@Sender.Test", "fwd.example", KEY, NOW)
    local, _, domain = address.rpartition("@")
    assert domain == "fwd.example"
    tag, hash_, stamp, host, user = local.split("=")
    assert (tag, stamp, host, user) == ("SRS0", timestamp(NOW), "Sender.Test", "Alice.Smith")
    assert len(hash_) == srs.HASH_LENGTH
    assert is_srs_local(local)
    assert reverse(local, [KEY], NOW, 21) == "Alice.Smith@Sender.Test"


def test_hash_and_tag_compare_without_case() -> None:
    local = forward("alice@sender.test", "fwd.example", KEY, NOW).rpartition("@")[0]
    # some MTAs lowercase (or uppercase) the whole local part of a bounce address
    assert reverse(local.lower(), [KEY], NOW, 21) == "alice@sender.test"
    assert reverse(local.upper(), [KEY], NOW, 21) == "ALICE@SENDER.TEST"


def test_forged_and_damaged_addresses_are_refused() -> None:
    local = forward("alice@sender.test", "fwd.example", KEY, NOW).rpartition("@")[0]
    tag, hash_, rest = local.split("=", 2)
    bad_hash = "AAAA" if hash_.upper() != "AAAA" else "BBBB"
    for forged in (f"{tag}={bad_hash}={rest}",  # wrong hash
                   local.replace("alice", "mallory"),  # other victim, same hash
                   f"{tag}={hash_[:2]}={rest}",  # hash too short
                   "SRS0=abcd=AB=sender.test",  # missing field
                   "SRS1=abcd=host"):  # missing SRS1 part
        with pytest.raises(SrsError):
            reverse(forged, [KEY], NOW, 21)
    with pytest.raises(SrsError):
        reverse(local, [OTHER], NOW, 21)  # another site's secret
    assert reverse(local, [OTHER, KEY], NOW, 21) == "alice@sender.test"  # rotated: old still verifies


def test_expiry_after_max_age_days() -> None:
    local = forward("alice@sender.test", "fwd.example", KEY, NOW).rpartition("@")[0]
    assert reverse(local, [KEY], NOW + 21 * DAY, 21) == "alice@sender.test"
    with pytest.raises(SrsError, match="expired"):
        reverse(local, [KEY], NOW + 22 * DAY, 21)


def test_timestamp_wraps_after_1024_days() -> None:
    last_slot = 1023 * DAY  # day number 1023, written "77"
    assert timestamp(last_slot) == "77"
    assert timestamp(last_slot + DAY) == "AA"  # day 1024 == 0
    assert timestamp_ok("77", last_slot + 2 * DAY, 21)  # two days later, across the wrap
    assert not timestamp_ok("77", last_slot + 30 * DAY, 21)
    assert not timestamp_ok("A1", NOW, 21)  # "1" is not a base32 character
    assert not timestamp_ok("AAA", NOW, 21)


def test_srs1_points_back_to_the_first_forwarder() -> None:
    first = forward("alice@sender.test", "first.example", OTHER, NOW)  # SRS0 made elsewhere
    second = forward(first, "fwd.example", KEY, NOW)
    local = second.rpartition("@")[0]
    assert local.startswith("SRS1=") and "=first.example==" in local
    assert reverse(local, [KEY], NOW, 21) == first  # back to the first forwarder's SRS0
    # a third forwarder keeps pointing at the first one
    third = forward(second, "third.example", OTHER, NOW)
    assert "=first.example==" in third
    assert reverse(third.rpartition("@")[0], [OTHER], NOW, 21) == first
    with pytest.raises(SrsError):
        reverse(local.replace("first.example", "evil.example"), [KEY], NOW, 21)


def test_our_own_addresses_are_not_rewritten() -> None:
    address = forward("alice@sender.test", "fwd.example", KEY, NOW)
    assert forward(address, "FWD.example", KEY, NOW) == address
    assert not is_srs_local("srs0") and not is_srs_local("srs2=a=b") and not is_srs_local("anna")


async def test_the_secret_is_made_once_and_shared_through_the_store(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path)
    await store.open()
    try:
        node1 = Srs(store, domain="fwd.example", clock=lambda: NOW)
        node2 = Srs(store, domain="fwd.example", clock=lambda: NOW)
        address = await node1.forward("alice@sender.test")
        assert await node2.reverse(address.rpartition("@")[0]) == "alice@sender.test"
        stored = json.loads(await store.get_setting(srs.SECRET_SETTING) or "[]")
        assert len(stored) == 1
        await node2.rotate()
        assert len(json.loads(await store.get_setting(srs.SECRET_SETTING) or "[]")) == 2
        fresh = Srs(store, domain="fwd.example", clock=lambda: NOW)
        assert await fresh.reverse(address.rpartition("@")[0]) == "alice@sender.test"
        newer = await fresh.forward("alice@sender.test")
        assert newer != address  # the new secret signs
        # node1 still holds the old list: it re-reads once its copy is RELOAD_AFTER old
        with pytest.raises(SrsError):
            await node1.reverse(newer.rpartition("@")[0])
        node1._loaded -= srs.RELOAD_AFTER
        assert await node1.reverse(newer.rpartition("@")[0]) == "alice@sender.test"
    finally:
        await store.close()


def test_cli_rotates_the_secret(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from postbus.cli import main

    config = tmp_path / "postbus.toml"
    config.write_text(f'hostname = "mail.example.net"\ndata_dir = "{tmp_path / "var"}"\n')
    runner = CliRunner()
    for _ in range(2):
        out = runner.invoke(main, ["--config", str(config), "forward", "rotate-srs-key"])
        assert out.exit_code == 0, out.output

    async def count() -> int:
        store = SqliteStore(tmp_path / "var")
        await store.open()
        try:
            return len(json.loads(await store.get_setting(srs.SECRET_SETTING) or "[]"))
        finally:
            await store.close()

    import asyncio

    assert asyncio.run(count()) == 3  # made on first use, then two new ones
