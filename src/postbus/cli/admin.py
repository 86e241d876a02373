"""`postbus admin add|list|remove|token`: operators and domain administrators."""

from __future__ import annotations

import click

from postbus.app import App
from postbus.cli.common import fail, read_password, with_app


@click.group()
def admin() -> None:
    """Administrators: operators (every domain) and domain administrators."""


@admin.command("add")
@click.argument("name")
@click.option("--operator", is_flag=True, help="Operator of the whole service.")
@click.option("--domain", "domains", multiple=True, help="A domain this administrator manages.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_context
def admin_add(ctx: click.Context, name: str, operator: bool, domains: tuple[str, ...],
              password_stdin: bool) -> None:
    """Add an administrator: an operator, or one of some domains."""
    if not operator and not domains:
        fail("give --operator or at least one --domain")
    password = read_password(password_stdin)
    made = with_app(ctx, lambda app: app.accounts.add_admin(
        name, password, operator=operator, domains=domains))
    scope = "operator" if made.operator else "administrator of " + ", ".join(made.domains)
    click.echo(f"added {made.name}, {scope}")


@admin.command("list")
@click.pass_context
def admin_list(ctx: click.Context) -> None:
    """List the administrators and what they manage."""
    async def run(app: App) -> None:
        for a in await app.accounts.list_admins():
            click.echo(f"{a.name}  " + ("operator" if a.operator else ", ".join(a.domains)))

    with_app(ctx, run)


@admin.command("remove")
@click.argument("name")
@click.pass_context
def admin_remove(ctx: click.Context, name: str) -> None:
    """Remove an administrator."""
    with_app(ctx, lambda app: app.accounts.remove_admin(name))
    click.echo(f"removed administrator {name}")


@admin.command("token")
@click.argument("name")
@click.pass_context
def admin_token(ctx: click.Context, name: str) -> None:
    """Print a new API token for NAME (its last line)."""
    token = with_app(ctx, lambda app: app.accounts.new_api_token(name))
    click.echo("new API token (shown only now):")
    click.echo(token)
