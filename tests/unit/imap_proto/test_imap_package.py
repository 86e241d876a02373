"""Package-level invariants: sans-IO purity and parse speed."""

import ast
import time
from pathlib import Path

import postbus.imap.proto as proto
from postbus.imap.proto import Command, FetchArgs, Receiver

PACKAGE = Path(proto.__file__).parent
FORBIDDEN = ("asyncio", "socket", "ssl", "selectors", "postbus.store", "postbus.imap.session")


def imported_modules(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module)
    return out


def test_proto_modules_do_no_io_and_know_no_store() -> None:
    for path in PACKAGE.glob("*.py"):
        for module in imported_modules(path):
            assert not module.startswith(FORBIDDEN), f"{path.name} imports {module}"


def test_every_module_has_a_docstring() -> None:
    for path in PACKAGE.glob("*.py"):
        assert ast.get_docstring(ast.parse(path.read_text())), path.name


def test_typical_fetch_parses_fast() -> None:
    # Measured ~20 µs per command on the reference machine; the bound leaves
    # a wide margin for slow CI while still catching an accidental quadratic path.
    data = b"A001 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])\r\n"
    receiver = Receiver()
    rounds = 2000
    start = time.perf_counter()
    for _ in range(rounds):
        receiver.feed(data)
        event = receiver.next_event()
    per_command = (time.perf_counter() - start) / rounds
    assert isinstance(event, Command) and isinstance(event.args, FetchArgs)
    assert per_command < 500e-6
