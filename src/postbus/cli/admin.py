"""`postbus admin add|list|remove|passwd|token|tokens|revoke|totp`: operators and domain
administrators, their API tokens and their second factor. Every command runs
through the administration service as the operator (`admin.CLI`) and is audited."""

from __future__ import annotations

import click

from postbus.admin import CLI
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
    made = with_app(ctx, lambda app: app.admin.add_admin(
        CLI, name, password, operator=operator, domains=domains))
    scope = "operator" if made.operator else "administrator of " + ", ".join(made.domains)
    click.echo(f"added {made.name}, {scope}")


@admin.command("list")
@click.pass_context
def admin_list(ctx: click.Context) -> None:
    """List the administrators and what they manage."""
    async def run(app: App) -> None:
        for a in await app.admin.list_admins(CLI):
            scope = "operator" if a.operator else ", ".join(a.domains)
            click.echo(f"{a.name}  {scope}" + ("  (TOTP)" if a.totp else ""))

    with_app(ctx, run)


@admin.command("remove")
@click.argument("name")
@click.pass_context
def admin_remove(ctx: click.Context, name: str) -> None:
    """Remove an administrator (with their API tokens)."""
    with_app(ctx, lambda app: app.admin.remove_admin(CLI, name))
    click.echo(f"removed administrator {name}")


@admin.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_context
def admin_passwd(ctx: click.Context, name: str, password_stdin: bool) -> None:
    """Set an administrator's password (it must pass the password policy)."""
    password = read_password(password_stdin, "New password")
    with_app(ctx, lambda app: app.admin.set_admin_password(CLI, name, password))
    click.echo(f"password changed for administrator {name}")


@admin.command("token")
@click.argument("name")
@click.option("--label", default="", help="What the token is for (shown in `admin tokens`).")
@click.pass_context
def admin_token(ctx: click.Context, name: str, label: str) -> None:
    """Print a new API token for NAME (its last line); only its hash is kept."""
    made = with_app(ctx, lambda app: app.admin.create_token(CLI, name, label))
    click.echo(f"new API token {made.token.id} for {made.token.admin} (shown only now):")
    click.echo(made.secret)


@admin.command("tokens")
@click.argument("name")
@click.pass_context
def admin_tokens(ctx: click.Context, name: str) -> None:
    """List NAME's API tokens (their ids and labels; the tokens themselves are not kept)."""
    async def run(app: App) -> None:
        for t in await app.admin.list_tokens(CLI, name):
            click.echo(f"{t.id}  {t.label}")

    with_app(ctx, run)


@admin.command("revoke")
@click.argument("name")
@click.argument("token_id", type=int)
@click.pass_context
def admin_revoke(ctx: click.Context, name: str, token_id: int) -> None:
    """Revoke NAME's API token TOKEN_ID."""
    with_app(ctx, lambda app: app.admin.revoke_token(CLI, name, token_id))
    click.echo(f"revoked API token {token_id} of {name}")


@admin.command("totp")
@click.argument("name")
@click.option("--remove", is_flag=True, help="Remove the second factor instead.")
@click.pass_context
def admin_totp(ctx: click.Context, name: str, remove: bool) -> None:
    """Enrol NAME for a TOTP second factor (RFC 6238).

    Prints the otpauth:// URI to load into an authenticator app as its last line."""
    if remove:
        with_app(ctx, lambda app: app.admin.remove_totp(CLI, name))
        click.echo(f"removed the second factor of {name}")
        return
    made = with_app(ctx, lambda app: app.admin.enrol_totp(CLI, name))
    click.echo(f"secret for {name} (shown only now): {made.secret}")
    click.echo(made.uri)
