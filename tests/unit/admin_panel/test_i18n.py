"""The panel in three languages: every string marked in the templates and the
handlers has a Dutch and a French translation with the same placeholders, and
a page follows ?lang=, its cookie, and Accept-Language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

import postbus.web.admin as panel

HERE = Path(panel.__file__).parent


def marked() -> set[str]:
    found: set[str] = set()
    for template in (HERE / "templates").glob("*.html"):
        found |= {m.group(2) for m in re.finditer(r"""_\((["'])(.*?)\1""", template.read_text())}
    for module in ("pages.py", "context.py"):
        text = (HERE / module).read_text()
        found |= {m.group(1) for m in re.finditer(
            r'(?:N_|panel\.t)\(\s*"((?:[^"\\]|\\.)*)"', text)}
    return found


@pytest.mark.parametrize("code", ["nl", "fr"])
def test_every_marked_string_is_translated(code: str) -> None:
    with (HERE / "locales" / code / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale=code)
    messages = {m.id: m.string for m in catalog if m.id}
    strings = marked()
    assert len(strings) > 100
    missing = sorted(s for s in strings if not messages.get(s))
    assert not missing, missing
    for source in strings:
        assert sorted(re.findall(r"%\(\w+\)s", source)) == sorted(
            re.findall(r"%\(\w+\)s", messages[source])), source
