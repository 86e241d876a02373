"""The HTML sanitiser on its own: the browser corpus, run through nh3 with our rules."""

from __future__ import annotations

import re

import pytest

from postbus.web.webmail.sanitize import sanitise
from tests.browser.xss_corpus import HTML


def cid_url(content_id: str) -> str:
    return "/webmail/message/cid?cid=" + content_id


@pytest.mark.parametrize(("name", "html"), HTML, ids=[n for n, _ in HTML])
def test_corpus_leaves_nothing_active_or_remote(name: str, html: str) -> None:
    out = sanitise(html, cid_url=cid_url, remote=False).html.lower()
    assert "<script" not in out and "<style" not in out and "<iframe" not in out
    assert "<object" not in out and "<embed" not in out and "<base" not in out
    assert "<meta" not in out and "<link" not in out and "<svg" not in out
    assert not re.search(r"\son[a-z]+\s*=", out)
    assert "javascript:" not in out and "data:text" not in out and "expression(" not in out
    assert "evil.example" not in out


def test_what_is_kept() -> None:
    html = ('<p style="color: red; position: fixed; background: url(x)">Hi <b>there</b></p>'
            '<img src="cid:logo@x" alt="l"><img src="data:image/png;base64,AAAA">'
            '<a href="https://example.org/">link</a><a href="mailto:a@b.c">mail</a>'
            '<a href="/webmail/logout">rel</a><table border="1"><tr><td>c</td></tr></table>')
    out = sanitise(html, cid_url=cid_url, remote=False)
    assert '<p style="color:red">' in out.html
    assert '<img src="/webmail/message/cid?cid=logo@x" alt="l">' in out.html
    assert 'src="data:image/png;base64,AAAA"' in out.html
    assert 'href="https://example.org/" target="_blank" rel="noopener noreferrer"' in out.html
    assert 'href="mailto:a@b.c"' in out.html
    assert "/webmail/logout" not in out.html
    assert out.remote_blocked == 0


def test_remote_images_are_counted_and_kept_only_when_asked() -> None:
    html = '<img src="https://t.example/a.gif"><img src="http://t.example/b.gif">'
    blocked = sanitise(html, cid_url=cid_url, remote=False)
    assert "t.example" not in blocked.html and blocked.remote_blocked == 2
    shown = sanitise(html, cid_url=cid_url, remote=True)
    assert "https://t.example/a.gif" in shown.html and shown.remote_blocked == 0
