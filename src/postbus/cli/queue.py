"""`postbus queue list|retry|delete`: the outbound queue."""

from __future__ import annotations

import datetime
import time

import click

from postbus.app import App
from postbus.cli.common import human, with_app


@click.group()
def queue() -> None:
    """The outbound queue."""


@queue.command("list")
@click.pass_context
def queue_list(ctx: click.Context) -> None:
    """List the outbound mail waiting for delivery."""
    async def run(app: App) -> None:
        items = await app.store.list_queue()
        for item in items:
            when = datetime.datetime.fromtimestamp(item.next_attempt, datetime.UTC)
            pending = [r for r in item.recipients if r.status == "pending"]
            click.echo(f"{item.id}  from <{item.sender}>  {human(item.size)}  attempts {item.attempts}"
                       f"  next {when:%Y-%m-%d %H:%M:%S}Z")
            for r in pending:
                click.echo(f"    to <{r.address}>  {r.last_reply}")
        click.echo(f"{len(items)} queued")

    with_app(ctx, run)


@queue.command("retry")
@click.argument("item_id", type=int, required=False)
@click.pass_context
def queue_retry(ctx: click.Context, item_id: int | None) -> None:
    """Retry one queued item now, or all without ID."""
    count = with_app(ctx, lambda app: app.store.retry_queue(item_id, time.time()))
    click.echo(f"{count} queued message(s) due now")


@queue.command("delete")
@click.argument("item_id", type=int)
@click.pass_context
def queue_delete(ctx: click.Context, item_id: int) -> None:
    """Delete a queued item without delivering or bouncing it."""
    with_app(ctx, lambda app: app.store.delete_queue_item(item_id))
    click.echo(f"deleted queued message {item_id}")
