"""What every command shares: settings, the App around one command, passwords, sizes, dates.

The exit-code contract lives here and nowhere else: `fail` writes one line
"postbus: REASON" on stderr and exits 1 for a refusal, 2 for a bad
configuration or option value. `with_app` turns the refusals the services raise
(`AdminError`, `StoreError`, `ValueError`) into exit 1, so commands never catch them.
"""

from __future__ import annotations

import asyncio
import datetime
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import NoReturn, TypeVar

import click

from postbus import config as config_mod
from postbus.admin import AdminError
from postbus.app import App
from postbus.store import StoreError
from postbus.store.model import Account

T = TypeVar("T")

EXIT_REFUSED = 1  # the request was understood and refused (weak password, unknown domain...)
EXIT_CONFIG = 2  # the configuration file or an option value is invalid


def fail(message: str, code: int = EXIT_REFUSED) -> NoReturn:
    click.echo(f"postbus: {message}", err=True)
    sys.exit(code)


NO_CONFIG = (f"no configuration: pass --config FILE, set {config_mod.CONFIG_ENV},"
             f" or run where ./{config_mod.DEFAULT_CONFIG_NAME} is")


def config_path(ctx: click.Context) -> Path | None:
    """The configuration file in use (`config.find`: --config, $POSTBUS_CONFIG, ./postbus.toml)."""
    found: Path | None = config_mod.find(ctx.find_root().obj["config"])
    return found


def settings(ctx: click.Context, *, need_file: bool = True) -> config_mod.Settings:
    """The settings in use. Without a configuration file a command that opens the
    store refuses (exit 2) rather than make ./var wherever it was run;
    `need_file=False` is for commands that only read settings (`postbus config`)."""
    path = config_path(ctx)
    if path is None and need_file:
        fail(NO_CONFIG, EXIT_CONFIG)
    try:
        return config_mod.load(path)
    except config_mod.ConfigError as exc:
        fail(f"config error: {exc}", EXIT_CONFIG)


def with_app(ctx: click.Context, fn: Callable[[App], Awaitable[T]]) -> T:
    """Open the App, run `fn` on it, close it; a service refusal exits 1."""
    loaded = settings(ctx)

    async def main() -> T:
        app = App(loaded)
        await app.open()
        try:
            return await fn(app)
        finally:
            await app.close()

    try:
        return asyncio.run(main())
    except (AdminError, StoreError, ValueError) as exc:
        fail(str(exc))


def read_password(password_stdin: bool, prompt: str = "Password") -> str:
    """One line from stdin with --password-stdin, else a prompt typed twice; never argv."""
    if password_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            fail("no password on standard input")
        return password
    value: str = click.prompt(prompt, hide_input=True, confirmation_prompt=True)
    return value


def size(value: str | None, key: str) -> int | None:
    if value is None:
        return None
    try:
        return config_mod.parse_size(value, key)
    except config_mod.ConfigError as exc:
        fail(str(exc), EXIT_CONFIG)


def human(n: int) -> str:
    """A size in binary units, named as such: 1536 -> "1.5 KiB", 2 << 30 -> "2 GiB"."""
    for unit, unit_size in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= unit_size:
            return f"{n / unit_size:.1f}".removesuffix(".0") + " " + unit
    return f"{n} B"


def describe_accounts(accounts: Sequence[Account]) -> str:
    """What removing these mailboxes takes away: "2 mailboxes, 14 messages, 1.2 MiB"."""
    n = len(accounts)
    messages = sum(a.used_messages for a in accounts)
    size_bytes = sum(a.used_bytes for a in accounts)
    return (f"{n} mailbox{'' if n == 1 else 'es'}, {messages} message{'' if messages == 1 else 's'},"
            f" {human(size_bytes)}")


def confirm_removal(yes: bool, what: str) -> None:
    """Go on with `--yes`; ask on a terminal; otherwise refuse (exit 1) rather than guess."""
    if yes:
        return
    if not sys.stdin.isatty():
        fail(f"not removing {what} without confirmation: add --yes (standard input is not a terminal)")
    if not click.confirm(f"Remove {what}?", default=False):
        fail(f"{what} not removed")


def date(value: str | None, option: str) -> float | None:
    """An ISO date or date-time as a timestamp; without a zone it is UTC."""
    if value is None:
        return None
    try:
        when = datetime.datetime.fromisoformat(value)
    except ValueError:
        fail(f"{option}: {value!r} is not a date (write YYYY-MM-DD or YYYY-MM-DDTHH:MM)")
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return when.timestamp()
