"""The SQLite change channel: change events between processes on one data_dir.

Two channels in one process stand for two worker processes here: each has its
own hub, as each process has; the integration test (test_workers.py) runs it
across real processes.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from postbus.store.events import ChangeHub
from postbus.store.model import Change
from postbus.store.sqlite import channel
from postbus.store.sqlite.channel import ChangeChannel, decode, encode


def test_encode_keeps_the_latest_change_per_folder_and_kind_and_round_trips() -> None:
    changes = [Change(1, 2, 5), Change(1, 2, 7), Change(1, 2, 6), Change(1, 2, 0, "mailboxes"),
               Change(3, 0, 0, "subscriptions")]
    [datagram] = encode(changes)
    assert decode(datagram) == [Change(1, 2, 7), Change(1, 2, 0, "mailboxes"),
                                Change(3, 0, 0, "subscriptions")]


def test_a_large_batch_is_split_into_bounded_datagrams() -> None:
    changes = [Change(i, i, i) for i in range(5000)]
    datagrams = encode(changes)
    assert len(datagrams) > 1 and all(len(d) <= channel.MAX_DATAGRAM for d in datagrams)
    assert [c for d in datagrams for c in decode(d)] == changes


def test_decode_skips_malformed_lines() -> None:
    junk = b"1 2 3 messages\nx y z messages\n1 2 3 unknown-kind\n1 2 3\n" + b"9" * 500 + b"\n4 5 6 mailboxes"
    assert decode(junk) == [Change(1, 2, 3), Change(4, 5, 6, "mailboxes")]


async def test_a_change_sent_by_one_store_reaches_the_others_subscribers(tmp_path: Path) -> None:
    # A deep data_dir: the socket paths would pass the 108-byte limit if used whole.
    data_dir = tmp_path / ("d" * 60) / ("e" * 60)
    hubs = [ChangeHub(), ChangeHub(), ChangeHub()]
    channels = [ChangeChannel(data_dir, hub) for hub in hubs]
    for ch in channels:
        ch.open()
    try:
        subs = [hub.subscribe(7) for hub in hubs]
        channels[0].send([Change(7, 3, 12)])
        for sub in subs[1:]:
            assert await sub.wait(timeout=10)
            assert sub.pending() == [Change(7, 3, 12)]
        assert not subs[0].has_pending  # its own store publishes its changes itself
    finally:
        for ch in channels:
            ch.close()
    assert not list((data_dir / channel.DIRECTORY).iterdir())  # each removed its socket


async def test_the_socket_of_a_store_that_is_gone_is_removed(tmp_path: Path) -> None:
    hub = ChangeHub()
    live = ChangeChannel(tmp_path, hub)
    live.open()
    try:
        dead = tmp_path / channel.DIRECTORY / f"1-dead{channel.SUFFIX}"
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as gone:
            gone.bind(str(dead))  # bound, then closed without removing the file
        live.send([Change(1, 1, 1)])
        assert not dead.exists()
    finally:
        live.close()
    await asyncio.sleep(0)
