"""`postbus vacation set|clear|show`: vacation auto-replies (RFC 3834), administrators only."""

from __future__ import annotations

import datetime
from typing import TextIO

import click

from postbus.admin import CLI
from postbus.cli.common import date, with_app
from postbus.delivery.rules import Vacation


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
    with_app(ctx, lambda app: app.admin.set_vacation(CLI, address, rule))
    click.echo(f"vacation reply set for {address}")


@vacation.command("clear")
@click.argument("address")
@click.pass_context
def vacation_clear(ctx: click.Context, address: str) -> None:
    """Turn off a mailbox's vacation auto-reply."""
    with_app(ctx, lambda app: app.admin.set_vacation(CLI, address, None))
    click.echo(f"vacation reply cleared for {address}")


@vacation.command("show")
@click.argument("address")
@click.pass_context
def vacation_show(ctx: click.Context, address: str) -> None:
    """Show a mailbox's vacation auto-reply."""
    rule = with_app(ctx, lambda app: app.admin.get_vacation(CLI, address))
    if rule is None:
        click.echo(f"no vacation reply for {address}")
        return
    click.echo(f"subject: {rule.subject}")
    for label, when in (("start", rule.start), ("end", rule.end)):
        if when is not None:
            stamp = datetime.datetime.fromtimestamp(when, datetime.UTC)
            click.echo(f"{label}: {stamp:%Y-%m-%d %H:%M} UTC")
    click.echo(f"once per sender every {rule.interval_days} days")
    click.echo("")
    click.echo(rule.body)
