"""`postbus domain add|list|remove|dns`: hosted domains."""

from __future__ import annotations

import click

from postbus.accounts.address import display_domain
from postbus.app import App
from postbus.cli.common import confirm_removal, describe_accounts, fail, settings, with_app


@click.group()
def domain() -> None:
    """Hosted domains."""


@domain.command("add")
@click.argument("name")
@click.pass_context
def domain_add(ctx: click.Context, name: str) -> None:
    """Host a domain (and make its DKIM key)."""
    async def run(app: App) -> None:
        made = await app.accounts.add_domain(name)
        d = made.domain
        click.echo(f"added domain {display_domain(d.name)}")
        click.echo("publish this DNS record to sign outbound mail with DKIM:")
        click.echo(f'{d.dkim_selector}._domainkey.{d.name}. IN TXT "{made.dkim_txt}"')

    with_app(ctx, run)


@domain.command("list")
@click.pass_context
def domain_list(ctx: click.Context) -> None:
    """List the hosted domains."""
    async def run(app: App) -> None:
        for d in await app.accounts.list_domains():
            click.echo(display_domain(d.name))

    with_app(ctx, run)


@domain.command("remove")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask (needed when standard input is not a terminal).")
@click.pass_context
def domain_remove(ctx: click.Context, name: str, yes: bool) -> None:
    """Remove a domain with its mailboxes, their mail and its aliases."""

    async def count(app: App) -> str:
        d = await app.accounts.get_domain(name)
        if d is None:
            fail(f"domain {name} is not hosted here")
        return describe_accounts(await app.accounts.list_users(d.name))

    async def remove(app: App) -> str:
        d = await app.accounts.get_domain(name)
        if d is None:
            fail(f"domain {name} is not hosted here")
        what = describe_accounts(await app.accounts.list_users(d.name))
        await app.accounts.remove_domain(d.name)
        return what

    shown = display_domain(name)
    click.echo(f"domain {shown}: {with_app(ctx, count)}")
    confirm_removal(yes, f"domain {shown} with all its mailboxes and mail")
    click.echo(f"removed domain {shown}: {with_app(ctx, remove)}")


@domain.command("dns")
@click.argument("name")
@click.pass_context
def domain_dns(ctx: click.Context, name: str) -> None:
    """Print the DNS records to publish for a domain (MX, SPF, DKIM, DMARC, client set-up)."""
    from postbus.accounts.dns import domain_records, server_records

    loaded = settings(ctx)

    async def run(app: App) -> None:
        d = await app.accounts.get_domain(name)
        if d is None:
            fail(f"domain {name} is not hosted here")
        for record in domain_records(d, loaded):
            click.echo(record.zone_line())
        click.echo(f"; and once for the server {loaded.hostname}:")
        for record in server_records(loaded):
            click.echo(record.zone_line())

    with_app(ctx, run)
