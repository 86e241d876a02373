"""`postbus domain add|list|remove|suspend|resume|dns`: hosted domains."""

from __future__ import annotations

import click

from postbus.accounts.address import display_domain
from postbus.admin import CLI
from postbus.app import App
from postbus.cli.common import confirm_removal, describe_accounts, fail, with_app


@click.group()
def domain() -> None:
    """Hosted domains."""


@domain.command("add")
@click.argument("name")
@click.pass_context
def domain_add(ctx: click.Context, name: str) -> None:
    """Host a domain (and make its DKIM key)."""
    async def run(app: App) -> None:
        made, dkim_txt = await app.admin.add_domain(CLI, name)
        d = await app.accounts.get_domain(made.name)
        assert d is not None
        click.echo(f"added domain {display_domain(d.name)}")
        click.echo("publish this DNS record to sign outbound mail with DKIM:")
        click.echo(f'{d.dkim_selector}._domainkey.{d.name}. IN TXT "{dkim_txt}"')

    with_app(ctx, run)


@domain.command("list")
@click.pass_context
def domain_list(ctx: click.Context) -> None:
    """List the hosted domains."""
    async def run(app: App) -> None:
        for d in await app.admin.list_domains(CLI):
            click.echo(display_domain(d.name) + ("  (suspended)" if d.suspended else ""))

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
        await app.admin.remove_domain(CLI, d.name)
        return what

    shown = display_domain(name)
    click.echo(f"domain {shown}: {with_app(ctx, count)}")
    confirm_removal(yes, f"domain {shown} with all its mailboxes and mail")
    click.echo(f"removed domain {shown}: {with_app(ctx, remove)}")


@domain.command("suspend")
@click.argument("name")
@click.pass_context
def domain_suspend(ctx: click.Context, name: str) -> None:
    """Suspend a domain: its mailboxes and mail stay, nobody of it logs in."""
    with_app(ctx, lambda app: app.admin.suspend_domain(CLI, name, True))
    click.echo(f"suspended domain {display_domain(name)}")


@domain.command("resume")
@click.argument("name")
@click.pass_context
def domain_resume(ctx: click.Context, name: str) -> None:
    """Lift a domain's suspension."""
    with_app(ctx, lambda app: app.admin.suspend_domain(CLI, name, False))
    click.echo(f"resumed domain {display_domain(name)}")


@domain.command("dns")
@click.argument("name")
@click.option("--check", is_flag=True, help="Ask DNS which records are missing or wrong.")
@click.pass_context
def domain_dns(ctx: click.Context, name: str, check: bool) -> None:
    """Print the DNS records to publish for a domain (MX, SPF, DKIM, DMARC, client set-up)."""
    from postbus.accounts.dns import server_records
    from postbus.mailauth.resolver import app_resolver

    async def run(app: App) -> None:
        if check:
            for result in await app.admin.check_dns(CLI, name, app_resolver(app)):
                found = f"  (found: {'; '.join(result.found)})" if result.status == "wrong" else ""
                click.echo(f"{result.status:>13}  {result.record.zone_line()}{found}")
            return
        for record in await app.admin.dns_records(CLI, name):
            click.echo(record.zone_line())
        click.echo(f"; and once for the server {app.settings.hostname}:")
        for record in server_records(app.settings):
            click.echo(record.zone_line())

    with_app(ctx, run)
