"""Languages: every English message has a Dutch and a French translation, with
the same placeholders, and the login page follows Accept-Language."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from babel.messages.pofile import read_po

from postbus.web.webmail import i18n
from tests.unit.webmail.catalog import ROOT, extracted

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def catalogue(code: str):  # type: ignore[no-untyped-def]
    with Path(ROOT / "locales" / code / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=code)


def test_extraction_finds_the_messages() -> None:
    """The check below can fail: the extractor sees Python and template strings."""
    found = extracted()
    assert "Log in" in found  # templates/login.html
    assert "The user name or password is wrong." in found  # auth.py
    assert found["%(num)d message"] == ("%(num)d message", "%(num)d messages")


@pytest.mark.parametrize("code", ["nl", "fr"])
def test_every_english_message_is_translated(code: str) -> None:
    cat = catalogue(code)
    problems = []
    for key, message in extracted().items():
        entry = cat.get(key)
        if entry is None:
            problems.append(f"missing: {key!r}")
            continue
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if entry.fuzzy or not all(strings):
            problems.append(f"untranslated or fuzzy: {key!r}")
            continue
        wanted = set(PLACEHOLDER.findall(" ".join(message)))
        for s in strings:
            if set(PLACEHOLDER.findall(s)) != wanted:
                problems.append(f"placeholders differ: {key!r} -> {s!r}")
    assert not problems, f"{code}: " + "; ".join(problems)


@pytest.mark.parametrize(("header", "expected"), [
    (None, "en"), ("", "en"), ("nl-NL,nl;q=0.9,en;q=0.8", "nl"), ("de-DE,fr;q=0.5,en;q=0.4", "fr"),
    ("en;q=0.2, nl;q=0.7", "nl"), ("fr-CA", "fr"), ("nl;q=0", "en"), ("nl;q=abc,fr", "fr"),
    ("x" * 1000, "en"), ("*", "en"),
])
def test_accept_language(header: str | None, expected: str) -> None:
    assert i18n.negotiate(header) == expected


def test_translations_are_used() -> None:
    assert i18n.translator("nl")("Log in") == "Inloggen"
    assert i18n.translator("fr")("Page %(page)d of %(pages)d", page=2, pages=3) == "Page 2 sur 3"
    assert i18n.plural_translator("nl")("%(num)d message", "%(num)d messages", 2) == "2 berichten"
    assert i18n.translator("xx")("Log in") == "Log in"


@pytest.mark.parametrize(("header", "lang", "text"), [
    ("nl-BE,nl;q=0.9", "nl", "Inloggen"), ("fr-FR,fr;q=0.9", "fr", "Se connecter"),
    ("de-DE", "en", "Log in"),
])
async def test_login_page_follows_accept_language(client: httpx.AsyncClient, header: str,
                                                  lang: str, text: str) -> None:
    page = await client.get("/webmail/login", headers={"accept-language": header})
    assert f'<html lang="{lang}">' in page.text
    assert f">{text}</button>" in page.text
