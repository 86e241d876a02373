"""`postbus vacation set|clear`: vacation auto-replies (RFC 3834), administrators only."""

from __future__ import annotations

from typing import TextIO

import click

from postbus.cli.common import date, with_app
from postbus.delivery.rules import Rules, Vacation


@click.group()
def vacation() -> None:
    """Vacation auto-replies (RFC 3834)."""


@vacation.command("set")
@click.argument("address")
@click.option("--subject", "-s", default="",
              help='Subject of the reply (default: "Auto: " and the original subject).')
@click.option("--body-file", type=click.File("r", encoding="utf-8"), default=None,
              help="File with the reply text ('-' for standard input).")
@click.option("--start", default=None, help="First day (YYYY-MM-DD), UTC.")
@click.option("--end", default=None, help="Day the replies stop (YYYY-MM-DD), UTC.")
@click.option("--interval-days", type=int, default=7, show_default=True,
              help="Answer each sender at most once per this many days.")
@click.pass_context
def vacation_set(ctx: click.Context, address: str, subject: str, body_file: TextIO | None,
                 start: str | None, end: str | None, interval_days: int) -> None:
    """Turn on a mailbox's vacation auto-reply."""
    body = body_file.read() if body_file is not None else ""
    rule = Vacation(subject=subject, body=body, start=date(start, "--start"),
                    end=date(end, "--end"), interval_days=interval_days)
    with_app(ctx, lambda app: Rules(app.store).set_vacation(address, rule))
    click.echo(f"vacation reply set for {address}")


@vacation.command("clear")
@click.argument("address")
@click.pass_context
def vacation_clear(ctx: click.Context, address: str) -> None:
    """Turn off a mailbox's vacation auto-reply."""
    with_app(ctx, lambda app: Rules(app.store).clear_vacation(address))
    click.echo(f"vacation reply cleared for {address}")
