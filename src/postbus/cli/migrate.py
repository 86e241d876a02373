"""`postbus migrate --to URL`: copy the embedded store into an empty PostgreSQL database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from postbus.cli.common import fail, human, settings


@click.command("migrate")
@click.option("--to", "url", required=True, metavar="URL",
              help="The empty target database, postgresql://user@host/db.")
@click.pass_context
def migrate_cmd(ctx: click.Context, url: str) -> None:
    """Copy the embedded store (data_dir) into an empty PostgreSQL database.

    Stop `postbus serve` first: the store must not change while it is copied
    (a running server is detected and the copy refused). Ids, UIDs,
    UIDVALIDITY, mod-sequences, flags, dates, quotas, aliases, administrators,
    settings, the queue and every body are kept, so clients re-download
    nothing. The target gets its schema, then everything in one transaction:
    a failed copy leaves it empty. Afterwards set [storage] backend =
    "postgresql" and url = URL, and start the nodes.
    """
    # imported here: the migration pulls in both backends, which no other command needs
    from postbus.store.migrate import MigrationError, migrate_to_postgres, redact

    loaded = settings(ctx)
    try:
        report = asyncio.run(migrate_to_postgres(Path(loaded.data_dir), url, progress=click.echo))
    except MigrationError as exc:
        fail(str(exc))
    counts = report.counts
    click.echo(
        f"migrated {counts['domains']} domains, {counts['accounts']} accounts,"
        f" {counts['mailboxes']} folders, {counts['messages']} messages,"
        f" {counts['blobs']} bodies ({human(report.body_bytes)}), {counts['queue']} queued"
        f" in {report.seconds:.1f}s; row counts verified"
    )
    click.echo(f'next: set [storage] backend = "postgresql" and url = "{redact(url)}",'
               " then start postbus serve")
