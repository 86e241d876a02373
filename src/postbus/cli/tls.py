"""`postbus tls renew`: ask the running server(s) to renew the ACME certificate now."""

from __future__ import annotations

import time

import click

from postbus.app import App
from postbus.cli.common import fail, settings, with_app


@click.group("tls")
def tls() -> None:
    """The server's certificate."""


@tls.command("renew")
@click.pass_context
def renew(ctx: click.Context) -> None:
    """Renew the ACME certificate at the next check, before it is due.

    Recorded in the store: the node holding the order lease orders, every node
    then serves the result. Send SIGHUP to `postbus serve` to check at once
    rather than at the next [tls] acme_check_interval.
    """
    from postbus.acme.service import RENEW_KEY

    if not settings(ctx).tls.acme:
        fail("[tls] acme is not enabled: there is no ACME certificate to renew")

    async def ask(app: App) -> None:
        await app.store.set_setting(RENEW_KEY, repr(time.time()))

    with_app(ctx, ask)
    click.echo("renewal requested; the server orders at its next check (SIGHUP: now)")
