"""`postbus user add|list|show|remove|passwd|quota|enable|disable`: mailboxes."""

from __future__ import annotations

import datetime

import click

from postbus.accounts.address import display_address
from postbus.accounts.policy import RULES
from postbus.admin import CLI
from postbus.app import App
from postbus.cli.common import (
    confirm_removal,
    describe_accounts,
    fail,
    human,
    read_password,
    size,
    with_app,
)
from postbus.store.model import Account


@click.group()
def user() -> None:
    """Mailbox users."""


@user.command("add")
@click.argument("address")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--generate", is_flag=True,
              help="Generate a strong password and print it (as the last line, only now).")
@click.option("--quota", default=None, metavar="SIZE",
              help='Quota over all folders in binary units ("2G", "2GB" and "2GiB" are all 2 GiB);'
                   " default: limits.default_quota.")
@click.pass_context
def user_add(ctx: click.Context, address: str, password_stdin: bool, generate: bool,
             quota: str | None) -> None:
    """Add a mailbox; its full ADDRESS is also its login name."""
    quota_bytes = size(quota, "--quota")
    password = None if generate else read_password(password_stdin)
    made = with_app(ctx, lambda app: app.admin.create_mailbox(CLI, address, password,
                                                              quota=quota_bytes))
    m = made.mailbox
    click.echo(f"added mailbox {display_address(m.address)} (quota {human(m.quota_bytes)})")
    if made.password is not None:
        click.echo("generated password (shown only now):")
        click.echo(made.password)


user_add.help = f"{user_add.help}\n\nPassword policy: {RULES}"


@user.command("list")
@click.argument("domain_name", required=False)
@click.pass_context
def user_list(ctx: click.Context, domain_name: str | None) -> None:
    """List mailboxes with their use and quota, of one domain or of all."""
    async def run(app: App) -> None:
        listed = (await app.admin.list_mailboxes(CLI, domain_name) if domain_name
                  else [m for d in await app.admin.list_domains(CLI)
                        for m in await app.admin.list_mailboxes(CLI, d.name)])
        for a in listed:
            state = "" if a.enabled else "  (disabled)"
            quota = human(a.quota_bytes) if a.quota_bytes else "unlimited"
            click.echo(f"{display_address(a.address)}  {human(a.used_bytes)} of {quota}"
                       f"  {a.used_messages} messages{state}")

    with_app(ctx, run)


@user.command("remove")
@click.argument("address")
@click.option("--yes", is_flag=True, help="Do not ask (needed when standard input is not a terminal).")
@click.pass_context
def user_remove(ctx: click.Context, address: str, yes: bool) -> None:
    """Remove a mailbox with all its folders and mail."""

    async def account(app: App) -> Account:
        found = await app.accounts.get_user(address)
        if found is None:
            fail(f"no mailbox {address}")
        return found

    async def remove(app: App) -> str:
        found = await account(app)
        await app.admin.delete_mailbox(CLI, found.address)
        return describe_accounts([found])

    before = with_app(ctx, account)
    shown = display_address(before.address)
    click.echo(f"mailbox {shown}: {describe_accounts([before])}")
    confirm_removal(yes, f"mailbox {shown} with all its mail")
    click.echo(f"removed mailbox {shown}: {with_app(ctx, remove)}")


@user.command("passwd")
@click.argument("address")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--generate", is_flag=True,
              help="Generate a strong password and print it (as the last line, only now).")
@click.pass_context
def user_passwd(ctx: click.Context, address: str, password_stdin: bool, generate: bool) -> None:
    """Set a mailbox's password (the policy is in `user add --help`)."""
    password = None if generate else read_password(password_stdin, "New password")
    made = with_app(ctx, lambda app: app.admin.set_password(CLI, address, password))
    click.echo(f"password changed for {address}")
    if made is not None:
        click.echo("generated password (shown only now):")
        click.echo(made)


@user.command("quota")
@click.argument("address")
@click.argument("size_text", metavar="SIZE")
@click.pass_context
def user_quota(ctx: click.Context, address: str, size_text: str) -> None:
    """Set a mailbox's quota in binary units ("2G" = "2GiB"; "0" is unlimited)."""
    value = size(size_text, "SIZE")
    assert value is not None
    with_app(ctx, lambda app: app.admin.update_mailbox(CLI, address, quota=value))
    click.echo(f"quota of {address} is now {human(value) if value else 'unlimited'}")


@user.command("enable")
@click.argument("address")
@click.pass_context
def user_enable(ctx: click.Context, address: str) -> None:
    """Let a disabled mailbox log in again."""
    with_app(ctx, lambda app: app.admin.update_mailbox(CLI, address, enabled=True))
    click.echo(f"enabled {address}")


@user.command("disable")
@click.argument("address")
@click.pass_context
def user_disable(ctx: click.Context, address: str) -> None:
    """Stop a mailbox from logging in; its mail stays and still arrives."""
    with_app(ctx, lambda app: app.admin.update_mailbox(CLI, address, enabled=False))
    click.echo(f"disabled {address}")


@user.command("show")
@click.argument("address")
@click.pass_context
def user_show(ctx: click.Context, address: str) -> None:
    """Show a mailbox: use, quota, whether it may log in, and its last login."""
    m = with_app(ctx, lambda app: app.admin.get_mailbox(CLI, address))
    quota = human(m.quota_bytes) if m.quota_bytes else "unlimited"
    click.echo(f"{display_address(m.address)}  {human(m.used_bytes)} of {quota}"
               f"  {m.used_messages} messages" + ("" if m.enabled else "  (disabled)"))
    last = ("never" if m.last_login is None else datetime.datetime.fromtimestamp(
        m.last_login, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))
    click.echo(f"last login: {last}")
