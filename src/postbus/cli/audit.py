"""`postbus audit`: the administration audit log, newest first."""

from __future__ import annotations

import datetime

import click

from postbus.admin import CLI
from postbus.app import App
from postbus.cli.common import with_app


@click.command("audit")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True,
              help="How many entries.")
@click.option("--before", type=int, default=None, help="Only entries older than this id.")
@click.pass_context
def audit(ctx: click.Context, limit: int, before: int | None) -> None:
    """Show who changed what, when and from where (CLI, API and panel)."""
    async def run(app: App) -> None:
        for e in await app.admin.list_audit(CLI, before=before, limit=limit):
            when = datetime.datetime.fromtimestamp(e.at, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            detail = f"  ({e.detail})" if e.detail else ""
            click.echo(f"{e.id}  {when}  {e.actor}@{e.remote}  {e.action}  {e.target}{detail}")

    with_app(ctx, run)
