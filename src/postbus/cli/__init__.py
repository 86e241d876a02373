"""The `postbus` command line (DESIGN.md's command line contract), one module per command group.

Exit 0 on success. A bad or missing configuration is one line on stderr and exit 2; a
refusal (weak password, unknown domain, existing mailbox...) is one line on
stderr and exit 1 (`cli.common.fail`). Passwords come from --password-stdin or
a prompt, never argv. Each command opens the App for its own run
(`cli.common.with_app`) and calls the same services as the admin panel and API.
"""

from __future__ import annotations

import click

from postbus.cli.admin import admin
from postbus.cli.alias import alias
from postbus.cli.backup import backup_cmd, check_cmd, restore_cmd
from postbus.cli.ban import ban
from postbus.cli.config import config_cmd
from postbus.cli.demo import init_demo
from postbus.cli.domain import domain
from postbus.cli.forward import forward
from postbus.cli.migrate import migrate_cmd
from postbus.cli.queue import queue
from postbus.cli.sending import user_blocked, user_unblock
from postbus.cli.serve import serve
from postbus.cli.tls import tls
from postbus.cli.user import user
from postbus.cli.vacation import vacation
from postbus.security.files import restrict_umask

__all__ = ["main"]


@click.group()
@click.option("--config", "config_path", default=None, type=click.Path(dir_okay=False),
              help="TOML configuration file; without it $POSTBUS_CONFIG, else ./postbus.toml.")
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """Postbus mail hosting: run the service and administer it.

    The configuration is --config FILE, else $POSTBUS_CONFIG, else ./postbus.toml;
    without one, commands that open the store refuse (exit 2). Sizes are binary
    everywhere: 1G, 1GB and 1GiB all mean 2^30 bytes, and sizes print as KiB, MiB, GiB.
    """
    restrict_umask()  # nothing this process writes is for other local users
    ctx.obj = {"config": config_path}


for _command in (serve, config_cmd, init_demo, domain, user, alias, forward, vacation, admin,
                 queue, migrate_cmd, backup_cmd, restore_cmd, check_cmd, tls, ban):
    main.add_command(_command)
user.add_command(user_blocked)
user.add_command(user_unblock)
