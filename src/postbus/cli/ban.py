"""`postbus ban list|add|remove`: source addresses banned for failed logins (security.throttle)."""

from __future__ import annotations

import datetime

import click

from postbus.app import App
from postbus.cli.common import fail, with_app
from postbus.config import ConfigError, parse_duration
from postbus.security.throttle import ban_key


@click.group()
def ban() -> None:
    """Addresses banned after too many failed logins (IPv6: per /64)."""


def _when(t: float) -> str:
    return f"{datetime.datetime.fromtimestamp(t, datetime.UTC):%Y-%m-%d %H:%M:%S}Z"


@ban.command("list")
@click.pass_context
def ban_list(ctx: click.Context) -> None:
    """List the bans in force, with their ends and reasons."""
    async def run(app: App) -> None:
        bans = await app.throttle.list_bans()
        for b in bans:
            click.echo(f"{b.address}  until {_when(b.until)}  since {_when(b.created)}  {b.reason}")
        click.echo(f"{len(bans)} banned")

    with_app(ctx, run)


@ban.command("remove")
@click.argument("address")
@click.pass_context
def ban_remove(ctx: click.Context, address: str) -> None:
    """Lift the ban of ADDRESS (an IP address, or an IPv6 /64)."""
    if not with_app(ctx, lambda app: app.throttle.remove_ban(address)):
        fail(f"{ban_key(address)} is not banned")
    click.echo(f"ban of {ban_key(address)} lifted")


@ban.command("add")
@click.argument("address")
@click.option("--duration", default=None, help='how long, e.g. "1h", "2d"; default security.ban_duration')
@click.option("--reason", default="banned by the operator", show_default=True)
@click.pass_context
def ban_add(ctx: click.Context, address: str, duration: str | None, reason: str) -> None:
    """Ban ADDRESS (an IP address, or an IPv6 /64) now."""
    try:
        seconds = None if duration is None else parse_duration(duration, "--duration")
    except ConfigError as exc:
        fail(str(exc), 2)
    until = with_app(ctx, lambda app: app.throttle.ban(ban_key(address), reason, seconds))
    click.echo(f"{ban_key(address)} banned until {_when(until)}")
