"""`postbus init-demo`: a demo domain, mailbox and operator, created once."""

from __future__ import annotations

import datetime
import secrets

import click

from postbus.app import App
from postbus.cli.common import with_app


@click.command("init-demo")
@click.pass_context
def init_demo(ctx: click.Context) -> None:
    """On first use: a demo domain, mailbox and operator, passwords printed once."""

    async def run(app: App) -> None:
        if await app.store.get_setting("demo_initialised"):
            click.echo("postbus: demo data exists already (its passwords were printed at creation)")
            return
        user_pw = "Pb-" + secrets.token_urlsafe(12)
        op_pw = "Pb-" + secrets.token_urlsafe(12)
        await app.accounts.add_domain("demo.test")
        await app.accounts.add_user("demo@demo.test", user_pw)
        await app.accounts.add_admin("operator", op_pw, operator=True)
        await app.store.set_setting("demo_initialised", datetime.datetime.now(datetime.UTC).isoformat())
        click.echo("postbus: created demo data (these passwords are shown only now):")
        click.echo(f"  mailbox   demo@demo.test  password {user_pw}")
        click.echo(f"  operator  operator        password {op_pw}")

    with_app(ctx, run)
