"""The layer rules of DESIGN.md, checked on the source: each layer imports only
the ones below it.

    clients -> net/ -> protocol front ends -> services (mailbox/ ...) -> store

Every import counts, including those under ``if TYPE_CHECKING``: a front end
that names a store type is already reaching past the service.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import postbus

PACKAGE = Path(postbus.__file__).parent
FRONT_ENDS = ("imap", "pop3", "smtp", "web")

#: (the modules a rule applies to, the imports they may not make, why)
RULES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("postbus.imap", ("postbus.store",), "IMAP reaches mail through the mailbox service"),
    ("postbus.pop3", ("postbus.store",), "POP3 reaches mail through the mailbox service"),
    ("postbus.web", ("postbus.store",), "the web front ends use the services"),
    ("postbus.web", ("postbus.imap", "postbus.pop3", "postbus.smtp"),
     "the webmail calls the services in-process, not another protocol's front end"),
    ("postbus.accounts", tuple(f"postbus.{f}" for f in FRONT_ENDS),
     "the accounts service (logins, web sessions) knows no front end"),
    ("postbus.message", ("postbus.web",), "parse-once knows no front end"),
    ("postbus.mailbox", ("postbus.web",), "the mailbox service knows no front end"),
    ("postbus.mailbox", tuple(f"postbus.{f}" for f in FRONT_ENDS),
     "the mailbox service knows no front end"),
    ("postbus.store", ("postbus.mailbox", *(f"postbus.{f}" for f in FRONT_ENDS)),
     "the store knows no rule and no front end"),
    ("postbus.net", tuple(f"postbus.{f}" for f in FRONT_ENDS), "net/ is under every protocol"),
    ("postbus.admin", (*(f"postbus.{f}" for f in FRONT_ENDS), "postbus.cli"),
     "the administration service knows no front end"),
    ("postbus.compose", tuple(f"postbus.{f}" for f in FRONT_ENDS),
     "the compose service knows no front end (it submits in process, not over SMTP)"),
    ("postbus.addressbook", tuple(f"postbus.{f}" for f in FRONT_ENDS),
     "the address book service knows no front end"),
    ("postbus.preferences", tuple(f"postbus.{f}" for f in FRONT_ENDS),
     "the preferences service knows no front end"),
    ("postbus.accounts", tuple(f"postbus.{f}" for f in FRONT_ENDS),
     "the accounts service (ownership of addresses included) knows no front end"),
    ("postbus.imap", ("postbus.smtp", "postbus.pop3"), "front ends do not share code sideways"),
    ("postbus.pop3", ("postbus.smtp", "postbus.imap"), "front ends do not share code sideways"),
)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in the file."""
    tree = ast.parse(path.read_text(), str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            yield node.lineno, name
            for alias in node.names:  # `from postbus import store`
                yield node.lineno, f"{name}.{alias.name}"


def sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_layers_import_only_downwards() -> None:
    broken: dict[tuple[str, int], str] = {}
    for path in sources():
        module = module_name(path)
        for line, imported in imports(path):
            for scope, forbidden, why in RULES:
                if within(module, scope) and any(within(imported, f) for f in forbidden):
                    where = (str(path.relative_to(PACKAGE)), line)
                    broken.setdefault(where, f"{where[0]}:{line} imports {imported} ({why})")
    assert not broken, "\n".join(broken[k] for k in sorted(broken))


def test_proto_packages_are_sans_io() -> None:
    """STYLE.md habit 1: */proto/ imports neither asyncio nor any other part of Postbus."""
    broken = []
    for path in sources():
        module = module_name(path)
        if ".proto" not in module:
            continue
        own = module.split(".proto")[0] + ".proto"
        for line, imported in imports(path):
            if within(imported, "asyncio") or (
                within(imported, "postbus") and not within(imported, own) and imported != "postbus"
            ):
                broken.append(f"{path.relative_to(PACKAGE)}:{line} imports {imported}")
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize(("source", "expected"), [
    ("from postbus.store import Store\n", "postbus.store"),
    ("from ..store.model import INBOX\n", "postbus.store.model"),
    ("from postbus import store\n", "postbus.store"),
    ("import postbus.store.errors\n", "postbus.store.errors"),
])
def test_the_walker_sees_every_form_of_import(tmp_path: Path, source: str, expected: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The rule test itself can fail: each spelling of a forbidden import is seen."""
    fake = tmp_path / "postbus"
    (fake / "imap").mkdir(parents=True)
    path = fake / "imap" / "handler.py"
    path.write_text(source)
    monkeypatch.setattr(__import__(__name__, fromlist=["PACKAGE"]), "PACKAGE", fake)
    assert expected in {name for _, name in imports(path)}
