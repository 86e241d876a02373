"""Cross-check against the stdlib `email` package on messages it generates itself.

For well-formed MIME (what `email` writes) our walker must find the same
parts in the same order, with the same types, file names and decoded text.
"""

from __future__ import annotations

import os
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postbus.message import decode_body, iter_parts, parse, part_text
from tests.unit.message.message_samples import check_invariants

ORACLE = settings(max_examples=int(os.environ.get("POSTBUS_FUZZ_EXAMPLES", "150")), deadline=None,
                  suppress_health_check=[HealthCheck.too_slow])

text_content = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=60)
# (`email` strips blanks around file names; we keep a quoted value exactly)
file_names = st.text(st.sampled_from("abcé文 -_."), min_size=1, max_size=12).map(
    lambda s: s.strip() + ".bin")


@st.composite
def leaves(draw: st.DrawFn) -> EmailMessage:
    message = EmailMessage(policy=policy.SMTP)
    kind = draw(st.sampled_from(["plain", "html", "file"]))
    if kind == "file":
        message.set_content(draw(st.binary(max_size=80)), maintype="application",
                            subtype="octet-stream", filename=draw(file_names))
    else:
        charset = draw(st.sampled_from(["utf-8", "iso-8859-1"]))
        text = draw(text_content)
        if charset == "iso-8859-1":
            text = text.encode("latin-1", "replace").decode("latin-1")
        message.set_content(text + "\n", subtype=kind, charset=charset,
                            cte=draw(st.sampled_from(["quoted-printable", "base64", None])))
    return message


def combine(children: list[EmailMessage], kind: str) -> EmailMessage:
    message = EmailMessage(policy=policy.SMTP)
    if kind == "rfc822":
        inner = children[0]
        inner["Subject"] = "inner"
        message.set_content(inner)
        return message
    message.make_mixed() if kind == "mixed" else message.make_alternative()
    for child in children:
        message.attach(child)
    return message


messages = st.recursive(
    leaves(),
    lambda inner: st.builds(combine, st.lists(inner, min_size=1, max_size=3),
                            st.sampled_from(["mixed", "alternative", "rfc822"])),
    max_leaves=6,
)


@ORACLE
@given(messages)
def test_same_parts_as_the_email_package(message: EmailMessage) -> None:
    message["From"] = "Tester <tester@example.org>"
    message["Subject"] = "oracle"
    raw = message.as_bytes()
    meta = parse(raw, strict=True)
    check_invariants(meta, raw)
    theirs = list(BytesParser(policy=policy.default).parsebytes(raw).walk())
    ours = list(iter_parts(meta.body))
    assert [p.get_content_type() for p in theirs] == [p.mime_type for p in ours]
    for their, our in zip(theirs, ours, strict=True):
        assert their.get_filename() == our.filename
        if our.mime_type == "text/plain":
            assert part_text(raw, our) == their.get_content()
        elif not our.children and our.body is None:
            assert decode_body(raw, our) == their.get_payload(decode=True)
