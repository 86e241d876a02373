"""Languages of the webmail (Babel + gettext): English is the source language,
Dutch and French are complete catalogues under ``locales/``.

The ``.po`` files are read and compiled in memory when this module is imported,
so an editable install (``pip install -e``) needs no build step. Strings are
marked for extraction as ``_("...")`` in Python and ``{{ _("...") }}`` in the
templates (``tests/unit/test_webmail_i18n.py`` extracts them with Babel and fails
when the Dutch or French catalogue lacks one).

Accept-Language (RFC 9110 §12.5.4) picks the language on the login page; it is
parsed here, bounded by `limits`.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Callable
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from postbus.web.webmail.limits import MAX_ACCEPT_LANGUAGE, MAX_LANGUAGE_RANGES

LOCALES = Path(__file__).parent / "locales"
DEFAULT = "en"
#: Language code → its own name, as the language menu shows it.
LANGUAGES: dict[str, str] = {"en": "English", "nl": "Nederlands", "fr": "Français"}

Gettext = Callable[..., str]


def _load(code: str) -> gettext.NullTranslations:
    if code == DEFAULT:
        return gettext.NullTranslations()
    with (LOCALES / code / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale=code)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


_CATALOGUES = {code: _load(code) for code in LANGUAGES}


def translator(code: str) -> Gettext:
    """``_(message, **values)``: the translation of `message` with ``%(name)s``
    placeholders filled from `values` (new-style gettext, as Jinja's i18n uses)."""
    catalogue = _CATALOGUES.get(code, _CATALOGUES[DEFAULT])

    def _(message: str, **values: object) -> str:
        text = catalogue.gettext(message)
        return text % values if values else text

    return _


def plural_translator(code: str) -> Callable[..., str]:
    catalogue = _CATALOGUES.get(code, _CATALOGUES[DEFAULT])

    def ngettext(singular: str, plural: str, n: int, **values: object) -> str:
        return catalogue.ngettext(singular, plural, n) % {"num": n, **values}

    return ngettext


def negotiate(accept_language: str | None) -> str:
    """The best of our languages for an Accept-Language value; English when none fits."""
    if not accept_language or len(accept_language) > MAX_ACCEPT_LANGUAGE:
        return DEFAULT
    ranked: list[tuple[float, int, str]] = []
    for index, item in enumerate(accept_language.split(",")[:MAX_LANGUAGE_RANGES]):
        tag, _, params = item.strip().partition(";")
        weight = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                weight = float(params[2:])
            except ValueError:
                continue
        code = tag.strip().lower().split("-")[0]
        if code in LANGUAGES and weight > 0:
            ranked.append((-weight, index, code))
    return min(ranked)[2] if ranked else DEFAULT


def valid(code: str) -> bool:
    return code in LANGUAGES
