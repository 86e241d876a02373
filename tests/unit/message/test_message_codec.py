"""MessageMeta storage encoding (msgspec MessagePack)."""

from __future__ import annotations

import msgspec
import pytest

from postbus.message import FORMAT_VERSION, decode_meta, encode_meta, parse
from tests.unit.message.message_samples import CORPUS


@pytest.mark.parametrize("raw", CORPUS)
def test_round_trip(raw: bytes) -> None:
    meta = parse(raw, strict=True)
    data = encode_meta(meta)
    assert decode_meta(data) == meta
    assert meta.version == FORMAT_VERSION
    assert len(data) < 1024  # compact: no field names in the record


def test_eight_bit_header_values_encode() -> None:
    meta = parse(b"Subject: \xff\xfe bad\r\nFrom: \xe9 <a@b>\r\n\r\n", strict=True)
    assert decode_meta(encode_meta(meta)) == meta


def test_corrupt_record_raises() -> None:
    with pytest.raises(msgspec.DecodeError):
        decode_meta(b"\x93\x01\x02")
