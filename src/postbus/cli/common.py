"""What every command shares: settings, the App around one command, passwords, sizes, dates.

The exit-code contract lives here and nowhere else: `fail` writes one line
"postbus: REASON" on stderr and exits 1 for a refusal, 2 for a bad
configuration or option value. `with_app` turns the refusals the services raise
(`StoreError`, `ValueError`) into exit 1, so commands never catch them.
"""

from __future__ import annotations

import asyncio
import datetime
import sys
from collections.abc import Awaitable, Callable
from typing import NoReturn, TypeVar

import click

from postbus import config as config_mod
from postbus.app import App
from postbus.store import StoreError

T = TypeVar("T")

EXIT_REFUSED = 1  # the request was understood and refused (weak password, unknown domain...)
EXIT_CONFIG = 2  # the configuration file or an option value is invalid


def fail(message: str, code: int = EXIT_REFUSED) -> NoReturn:
    click.echo(f"postbus: {message}", err=True)
    sys.exit(code)


def settings(ctx: click.Context) -> config_mod.Settings:
    obj = ctx.find_root().obj
    try:
        return config_mod.load(obj["config"])
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
    except (StoreError, ValueError) as exc:
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
    for unit, unit_size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= unit_size:
            return f"{n / unit_size:.1f}{unit}".replace(".0" + unit, unit)
    return f"{n}B"


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
