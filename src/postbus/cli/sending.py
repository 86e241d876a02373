"""`postbus user blocked|unblock`: mailboxes blocked from sending (security.sending).

Registered on the `user` group (cli/__init__.py)."""

from __future__ import annotations

import datetime

import click

from postbus.accounts.address import normalize_address
from postbus.app import App
from postbus.cli.common import fail, with_app


@click.command("blocked")
@click.pass_context
def user_blocked(ctx: click.Context) -> None:
    """List the mailboxes blocked from sending for passing their sending limits."""
    async def run(app: App) -> None:
        blocks = await app.sending.blocked()
        for b in blocks:
            since = datetime.datetime.fromtimestamp(b.since, datetime.UTC)
            click.echo(f"{b.address}  since {since:%Y-%m-%d %H:%M:%S}Z  {b.reason}")
        click.echo(f"{len(blocks)} blocked")

    with_app(ctx, run)


@click.command("unblock")
@click.argument("address")
@click.pass_context
def user_unblock(ctx: click.Context, address: str) -> None:
    """Let a mailbox blocked for passing its sending limits send again."""
    try:
        address = normalize_address(address)
    except ValueError as exc:
        fail(str(exc))
    if not with_app(ctx, lambda app: app.sending.unblock(address)):
        fail(f"{address} is not blocked from sending")
    click.echo(f"{address} may send again")
