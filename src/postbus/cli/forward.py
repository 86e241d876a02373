"""`postbus forward set|clear`: forwarding (administrators only: mailbox users cannot set it)."""

from __future__ import annotations

from collections.abc import Awaitable

import click

from postbus.app import App
from postbus.cli.common import with_app
from postbus.delivery.rules import Rules


@click.group()
def forward() -> None:
    """Forwarding of a mailbox's mail to other addresses."""


@forward.command("set")
@click.argument("address")
@click.argument("targets", nargs=-1, required=True)
@click.option("--keep-copy", is_flag=True, help="Also keep the mail in the mailbox.")
@click.pass_context
def forward_set(ctx: click.Context, address: str, targets: tuple[str, ...], keep_copy: bool) -> None:
    """Forward a mailbox's mail to TARGETs (--keep-copy keeps it too)."""
    rule = with_app(ctx, lambda app: Rules(app.store).set_forward(address, targets, keep_copy=keep_copy))
    copy = " (keeping a copy)" if rule.keep_copy else ""
    click.echo(f"{address} forwards to {', '.join(rule.targets)}{copy}")


@forward.command("clear")
@click.argument("address")
@click.pass_context
def forward_clear(ctx: click.Context, address: str) -> None:
    """Stop forwarding a mailbox's mail."""
    with_app(ctx, lambda app: Rules(app.store).clear_forward(address))
    click.echo(f"{address} no longer forwards")


@forward.command("rotate-srs-key")
@click.pass_context
def forward_rotate_srs_key(ctx: click.Context) -> None:
    """Make a new SRS secret for forwarded mail (the old ones still verify bounces)."""
    from postbus.delivery.srs import Srs

    def rotate(app: App) -> Awaitable[None]:
        return Srs(app.store, domain=app.settings.srs.srs_domain(app.settings.hostname)).rotate()

    with_app(ctx, rotate)
    click.echo("new SRS secret made; bounces to addresses made with the previous ones are still accepted")
