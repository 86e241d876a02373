"""`postbus config [--check]`: the documented defaults, or a validation of the file."""

from __future__ import annotations

import click

from postbus import config as config_mod
from postbus.cli.common import settings


@click.command("config")
@click.option("--check", is_flag=True, help="Only validate the configuration file.")
@click.pass_context
def config_cmd(ctx: click.Context, check: bool) -> None:
    """Print every setting with its default and meaning."""
    loaded = settings(ctx)
    if check:
        click.echo(f"configuration ok (data_dir {loaded.data_dir})")
        return
    click.echo(config_mod.describe_defaults(), nl=False)
