"""`postbus serve`: start every configured listener."""

from __future__ import annotations

import click

from postbus.cli.common import settings


@click.command()
@click.pass_context
def serve(ctx: click.Context) -> None:
    """Start every configured listener."""
    from postbus.server import run  # the servers' imports are not needed by other commands

    run(settings(ctx))
