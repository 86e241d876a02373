"""`postbus config [--check]`: the configuration in use, or a validation of it."""

from __future__ import annotations

import click

from postbus import config as config_mod
from postbus.cli.common import config_path, settings


@click.command("config")
@click.option("--check", is_flag=True, help="Only validate the configuration file.")
@click.pass_context
def config_cmd(ctx: click.Context, check: bool) -> None:
    """Print every setting's effective value and meaning, marking those changed from the default."""
    path = config_path(ctx)
    loaded = settings(ctx, need_file=check)
    if check:
        click.echo(f"configuration ok: {path} (data_dir {loaded.data_dir})")
        return
    if path is None:
        click.echo("# no configuration file (--config, $POSTBUS_CONFIG, ./postbus.toml): the defaults")
    else:
        click.echo(f'# the configuration in use: {path.resolve()}; "{config_mod.CHANGED}" marks'
                   " a value that differs from its default")
    click.echo(config_mod.describe(loaded, config_mod.defaults_for(path)), nl=False)
