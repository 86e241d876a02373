"""`postbus backup DEST`, `postbus restore SRC` and `postbus check [--fix]`.

Backup and restore are for the embedded store (store/sqlite/backup.py); on
PostgreSQL they refuse and name pg_dump (docs/operations.md). `check` works on
both backends. Exit 0 when all is well, 1 for a refusal or a problem found.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from postbus.cli.common import fail, human, settings

PG_BACKUP = ("the store is PostgreSQL: back it up with pg_dump, then run `postbus check`"
             " (docs/operations.md)")


@click.command("backup")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def backup_cmd(ctx: click.Context, dest: Path) -> None:
    """Copy the embedded store to DEST (a new or empty directory) and verify the copy.

    Safe while `postbus serve` runs: one consistent snapshot of the database
    (SQLite's online backup) plus every body file it references, each checked
    against its SHA-256. DEST appears only once the copy is complete and verified.
    """
    from postbus.store.sqlite.backup import BackupError, backup

    loaded = settings(ctx)
    if loaded.storage.backend == "postgresql":
        fail(PG_BACKUP)
    try:
        report = backup(Path(loaded.data_dir), dest)
    except (BackupError, OSError) as exc:
        fail(str(exc))
    click.echo(f"backed up {report.messages} messages, {report.inline_bodies} bodies in the database"
               f" and {report.body_files} body files ({human(report.body_bytes)}) to {dest}"
               f" in {report.seconds:.1f}s; verified")


@click.command("restore")
@click.argument("source", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.pass_context
def restore_cmd(ctx: click.Context, source: Path) -> None:
    """Copy the backup SOURCE into the configured data_dir, which must be empty.

    The backup is verified before anything is copied and the result after.
    """
    from postbus.store.sqlite.backup import BackupError, restore

    loaded = settings(ctx)
    if loaded.storage.backend == "postgresql":
        fail("the store is PostgreSQL: restore it with pg_restore (docs/operations.md)")
    try:
        report = restore(source, Path(loaded.data_dir))
    except (BackupError, OSError) as exc:
        fail(str(exc))
    click.echo(f"restored {report.messages} messages and {report.body_files} body files"
               f" ({human(report.body_bytes)}) into {loaded.data_dir}; verified")


@click.command("check")
@click.option("--fix", is_flag=True, help="Remove orphan body files (nothing else is touched).")
@click.pass_context
def check_cmd(ctx: click.Context, fix: bool) -> None:
    """Verify every message body against its SHA-256 name.

    Reports bodies that are missing or corrupt and, on the embedded store,
    orphan body files (older than garbage collection's grace period and
    referenced by nothing). Deletes nothing unless --fix is given, and then
    only orphan files. Exit 1 when a problem remains.
    """
    loaded = settings(ctx)
    if loaded.storage.backend == "postgresql":
        import asyncpg

        from postbus.store.postgres import integrity as pg_integrity

        try:
            report = asyncio.run(pg_integrity.inspect(loaded.storage.url, fix=fix))
        except (OSError, asyncpg.PostgresError) as exc:
            fail(f"cannot check the PostgreSQL store: {exc}")
    else:
        from postbus.store.sqlite import integrity

        try:
            report = integrity.inspect(Path(loaded.data_dir), fix=fix)
        except FileNotFoundError as exc:
            fail(str(exc))
    for line in report.lines():
        click.echo(line)
    click.echo(report.summary())
    if report.problems:
        raise SystemExit(1)
