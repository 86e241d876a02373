"""The command line's help texts and size wording (issue 10 item 12)."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from postbus.accounts.policy import RULES
from postbus.cli import main
from postbus.cli.common import human


def _commands(cmd: click.Command, path: str = "postbus") -> Iterator[tuple[str, click.Command]]:
    yield path, cmd
    if isinstance(cmd, click.Group):
        for name, sub in sorted(cmd.commands.items()):
            yield from _commands(sub, f"{path} {name}")


def test_every_command_has_a_one_line_help() -> None:
    missing = [path for path, cmd in _commands(main) if not (cmd.help or "").strip()]
    assert missing == []
    for path, cmd in _commands(main):
        first = (cmd.help or "").strip().splitlines()[0]
        assert first.endswith("."), path
    assert len(list(_commands(main))) > 30


def test_user_add_help_states_the_password_policy() -> None:
    out = CliRunner().invoke(main, ["user", "add", "--help"]).output
    flat = " ".join(out.split())
    assert " ".join(RULES.split()) in flat
    assert "Amsterdam#1975x is refused" in flat
    assert '"2G", "2GB" and "2GiB" are all 2 GiB' in flat


@pytest.mark.parametrize(("n", "text"), [
    (0, "0 B"), (1023, "1023 B"), (1024, "1 KiB"), (1536, "1.5 KiB"), (12 << 20, "12 MiB"),
    (1 << 30, "1 GiB"), (3 << 29, "1.5 GiB"), (2 << 40, "2 TiB"),
])
def test_sizes_print_in_binary_units(n: int, text: str) -> None:
    assert human(n) == text
