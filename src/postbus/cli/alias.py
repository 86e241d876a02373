"""`postbus alias add|list|remove`: aliases and catch-alls."""

from __future__ import annotations

import click

from postbus.admin import CLI
from postbus.app import App
from postbus.cli.common import with_app


@click.group()
def alias() -> None:
    """Aliases: one source address (or @domain for a catch-all), several targets."""


@alias.command("add")
@click.argument("source")
@click.argument("targets", nargs=-1, required=True)
@click.pass_context
def alias_add(ctx: click.Context, source: str, targets: tuple[str, ...]) -> None:
    """Add TARGETs to the alias SOURCE (created if new)."""
    made = with_app(ctx, lambda app: app.admin.add_alias(CLI, source, targets))
    click.echo(f"{made.source} -> {', '.join(made.targets)}")


@alias.command("list")
@click.argument("domain_name", required=False)
@click.pass_context
def alias_list(ctx: click.Context, domain_name: str | None) -> None:
    """List aliases, of one domain or of all."""
    async def run(app: App) -> None:
        domains = [domain_name] if domain_name else [d.name for d in await app.admin.list_domains(CLI)]
        for a in [a for d in domains for a in await app.admin.list_aliases(CLI, d)]:
            click.echo(f"{a.source} -> {', '.join(a.targets)}")

    with_app(ctx, run)


@alias.command("remove")
@click.argument("source")
@click.argument("targets", nargs=-1)
@click.pass_context
def alias_remove(ctx: click.Context, source: str, targets: tuple[str, ...]) -> None:
    """Remove TARGETs from the alias SOURCE, or the whole alias without TARGETs."""
    with_app(ctx, lambda app: app.admin.remove_alias(CLI, source, targets))
    click.echo(f"removed {source}" + (f" -> {', '.join(targets)}" if targets else ""))
