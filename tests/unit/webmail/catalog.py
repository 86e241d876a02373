"""The webmail's messages as Babel extracts them from the Python code and the templates."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

import postbus.web.webmail as webmail

ROOT = Path(webmail.__file__).parent
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}


def extracted() -> dict[str, tuple[str, ...]]:
    """msgid → (msgid, plural msgid if any), over every marked string."""
    found: dict[str, tuple[str, ...]] = {}
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), METHODS, keywords=KEYWORDS,
            options_map={"**/templates/**.html": {"autoescape": "true"}}):
        key = message if isinstance(message, str) else message[0]
        found[key] = (message,) if isinstance(message, str) else tuple(message)
    return found
