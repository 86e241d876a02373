"""net/deflate: the RFC 4978 streams of one connection, and their memory bounds."""

from __future__ import annotations

import zlib

import pytest

from postbus.net.deflate import INFLATE_CHUNK, CompressionError, Deflate


def test_round_trip_with_sync_flush() -> None:
    ours = Deflate()
    peer_in = zlib.decompressobj(-15)
    sent = ours.compress(b"* OK hello\r\n") + ours.flush()
    assert ours.unflushed is False
    # Z_SYNC_FLUSH: the peer inflates the whole response without more input.
    assert peer_in.decompress(sent) == b"* OK hello\r\n"
    assert sent.endswith(b"\x00\x00\xff\xff")


def test_a_deflate_bomb_is_inflated_one_chunk_at_a_time() -> None:
    peer_out = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = peer_out.compress(b"\0" * (64 << 20)) + peer_out.flush(zlib.Z_SYNC_FLUSH)
    assert len(bomb) < 100_000
    ours = Deflate()
    ours.feed(bomb)
    total = 0
    for _ in range(10):
        chunk = ours.inflate()
        assert len(chunk) == INFLATE_CHUNK
        total += len(chunk)
    assert ours.pending  # the rest waits, compressed, until the session asks
    while ours.pending:
        total += len(ours.inflate())
    assert total == 64 << 20


def test_invalid_and_ended_streams_are_errors() -> None:
    ours = Deflate()
    ours.feed(b"\xff" * 16)
    with pytest.raises(CompressionError):
        ours.inflate()
    finished = zlib.compressobj(6, zlib.DEFLATED, -15)
    ended = Deflate()
    ended.feed(finished.compress(b"x") + finished.flush() + b"trailing")
    with pytest.raises(CompressionError):
        ended.inflate()
