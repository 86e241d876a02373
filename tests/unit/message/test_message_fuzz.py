"""Property tests: parse never raises, and what it returns keeps its promises.

Strict mode is used throughout, so that an internal error fails the test
instead of being logged and papered over.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postbus.message import (
    decode_meta,
    encode_meta,
    iter_parts,
    parse,
    parse_full,
    resolve_section,
    section_ranges,
)
from postbus.message.addresses import _simple_list, parse_address_list_general
from tests.unit.message.message_samples import CORPUS, MIXED, check_invariants

#: POSTBUS_FUZZ_EXAMPLES raises the example count for a longer run (e.g. 20000).
FUZZ = settings(max_examples=int(os.environ.get("POSTBUS_FUZZ_EXAMPLES", "300")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

SEEDS = [*CORPUS, MIXED.replace(b"\r\n", b"\n")]
TOKENS = [
    b"\r\n", b"\n", b"\r\n\r\n", b"\n\n", b"--", b"--outer", b"--outer--", b"--inner\r\n",
    b"--fwd--\r\n", b"--alt\n", b":", b";", b"\"", b"(", b")", b"<", b">", b"@", b",", b"=?",
    b"?=", b"=?utf-8?b?", b"=?utf-8?q?=C3", b"=", b"=\r\n", b"\xff\xfe", b"\xc3", b"\x00",
    b"Content-Type: multipart/mixed; boundary=outer\r\n",
    b"Content-Type: message/rfc822\r\n\r\n", b"Content-Type: multipart/digest; boundary=alt\r\n",
    b"Content-Transfer-Encoding: base64\r\n", b"Content-Transfer-Encoding: quoted-printable\r\n",
    b"Content-Disposition: attachment; filename*0*=utf-8''%C3; filename*1*=%A9\r\n",
    b"Subject: =?utf-8?q?Re=3A_x?=\r\n", b"To: g: a@b, <c@d>;\r\n", b"Date: 1 Jan 2000 00:00 +0000\r\n",
    b"<html><script>", b"<!--",
]


def check_everything(raw: bytes, max_parts: int | None = None) -> None:
    limit = {} if max_parts is None else {"max_parts": max_parts}
    meta = parse(raw, strict=True, **limit)
    check_invariants(meta, raw, max_parts)
    assert decode_meta(encode_meta(meta)) == meta
    assert len(meta.preview) <= 200
    for path in _paths(meta.body, ()):
        assert resolve_section(meta, path) is not None
        for kind in ("", "MIME", "HEADER", "TEXT"):
            found = section_ranges(meta, path, kind)
            if found is not None:
                assert 0 <= found[0] <= found[1] <= meta.size
    result = parse_full(raw, strict=True, **limit)
    assert result.meta == meta


def _paths(root: object, prefix: tuple[int, ...], depth: int = 0) -> list[tuple[int, ...]]:
    """Every valid section path of a message whose root part is `root`."""
    from postbus.message import Part

    assert isinstance(root, Part)
    if depth > 6:
        return []
    children = root.children or [root]
    paths: list[tuple[int, ...]] = []
    for number, child in enumerate(children, 1):
        path = (*prefix, number)
        paths.append(path)
        if child.children:
            paths += _paths_in_multipart(child, path, depth + 1)
        elif child.body is not None:
            paths += _paths(child.body, path, depth + 1)
    return paths


def _paths_in_multipart(part: object, prefix: tuple[int, ...], depth: int) -> list[tuple[int, ...]]:
    from postbus.message import Part

    assert isinstance(part, Part)
    paths: list[tuple[int, ...]] = []
    for number, child in enumerate(part.children, 1):
        path = (*prefix, number)
        paths.append(path)
        if child.children:
            paths += _paths_in_multipart(child, path, depth + 1)
        elif child.body is not None:
            paths += _paths(child.body, path, depth + 1)
    return paths


@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_bytes(raw: bytes) -> None:
    check_everything(raw)


@FUZZ
@given(st.lists(st.sampled_from(TOKENS) | st.binary(max_size=8), max_size=60))
def test_token_soup(pieces: list[bytes]) -> None:
    check_everything(b"".join(pieces))


mutation = st.tuples(
    st.sampled_from(["insert", "delete", "replace"]),
    st.floats(min_value=0, max_value=1),
    st.sampled_from(TOKENS) | st.binary(min_size=1, max_size=6),
)


@FUZZ
@given(st.sampled_from(SEEDS), st.lists(mutation, min_size=1, max_size=8),
       st.integers(min_value=1, max_value=12))
def test_mutated_real_messages(seed: bytes, mutations: list[tuple[str, float, bytes]],
                               max_parts: int) -> None:
    raw = bytearray(seed)
    for operation, where, payload in mutations:
        at = int(where * len(raw))
        if operation == "insert":
            raw[at:at] = payload
        elif operation == "delete":
            del raw[at:at + len(payload)]
        else:
            raw[at:at + len(payload)] = payload
    check_everything(bytes(raw))
    check_everything(bytes(raw), max_parts=max_parts)


# -- generated MIME trees: parse must find exactly what was built ------------------------------


@dataclass
class Leaf:
    content: bytes


@dataclass
class Multi:
    boundary: str
    children: list[Leaf | Multi]


body_text = st.binary(max_size=40).map(lambda b: b.replace(b"-", b"_").replace(b"\r", b"")
                                       .replace(b"\n", b" "))
trees = st.recursive(
    body_text.map(Leaf),
    lambda inner: st.builds(Multi, st.text("abcXYZ019'()+_,./:=?", min_size=1, max_size=20),
                            st.lists(inner, min_size=1, max_size=4)),
    max_leaves=12,
)


def render(node: Leaf | Multi, eol: bytes, depth: int = 0) -> bytes:
    if isinstance(node, Leaf):
        return b"Content-Type: text/plain" + eol + eol + node.content
    boundary = f"{node.boundary}{depth}".encode()
    out = [b'Content-Type: multipart/mixed; boundary="' + boundary + b'"' + eol + eol]
    for child in node.children:
        out.append(b"--" + boundary + eol + render(child, eol, depth + 1) + eol)
    out.append(b"--" + boundary + b"--" + eol)
    return b"".join(out)


@FUZZ
@given(trees, st.sampled_from([b"\r\n", b"\n"]))
def test_generated_trees_are_found_exactly(tree: Leaf | Multi, eol: bytes) -> None:
    raw = b"Subject: generated" + eol + render(tree, eol)
    meta = parse(raw, strict=True)
    check_invariants(meta, raw)

    def compare(node: Leaf | Multi, part: object) -> None:
        from postbus.message import Part

        assert isinstance(part, Part)
        if isinstance(node, Leaf):
            assert part.mime_type == "text/plain"
            assert raw[part.body_start:part.end] == node.content
        else:
            assert part.mime_type == "multipart/mixed"
            assert len(part.children) == len(node.children)
            for child_node, child_part in zip(node.children, part.children, strict=True):
                compare(child_node, child_part)

    compare(tree, meta.body)
    assert sum(1 for _ in iter_parts(meta.body)) == _count(tree)


def _count(node: Leaf | Multi) -> int:
    return 1 if isinstance(node, Leaf) else 1 + sum(_count(c) for c in node.children)


# -- the address fast path agrees with the general parser --------------------------------------

address_text = st.text(st.sampled_from('ab .\t"\\<>@,;:()[]xé\xa0'), max_size=30)


@FUZZ
@given(address_text)
def test_address_fast_path_matches_general_parser(value: str) -> None:
    fast = _simple_list(value, 1000)
    if fast is not None:
        assert fast == parse_address_list_general(value)


@FUZZ
@given(st.lists(st.tuples(st.text("ab .\xa0é", max_size=8), st.booleans()), min_size=1, max_size=4))
def test_common_address_shapes_agree(entries: list[tuple[str, bool]]) -> None:
    rendered = []
    for name, quoted in entries:
        display = f'"{name}"' if quoted else name
        rendered.append(f"{display} <user.{len(name)}@example.org>")
    value = ", ".join(rendered)
    fast = _simple_list(value, 1000)
    assert fast is not None
    assert fast == parse_address_list_general(value)
