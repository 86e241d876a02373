"""The `postbus` command line (DESIGN.md's command line contract).

Exit 0 on success. A bad configuration is one line on stderr and exit 2; a
refusal (weak password, unknown domain, existing mailbox...) is one line on
stderr and exit 1. Passwords come from --password-stdin or a prompt, never argv.
"""

from __future__ import annotations

import asyncio
import datetime
import secrets
import sys
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import click

from postbus import config as config_mod
from postbus.accounts.address import display_address, display_domain
from postbus.app import App
from postbus.delivery.rules import Rules, Vacation
from postbus.store import StoreError

T = TypeVar("T")


def _fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"postbus: {message}", err=True)
    sys.exit(code)


def _settings(ctx: click.Context) -> config_mod.Settings:
    obj = ctx.find_root().obj
    try:
        return config_mod.load(obj["config"])
    except config_mod.ConfigError as exc:
        _fail(f"config error: {exc}", 2)


def _with_app(ctx: click.Context, fn: Callable[[App], Awaitable[T]]) -> T:
    settings = _settings(ctx)

    async def main() -> T:
        app = App(settings)
        await app.open()
        try:
            return await fn(app)
        finally:
            await app.close()

    try:
        return asyncio.run(main())
    except (StoreError, ValueError) as exc:
        _fail(str(exc))


def _read_password(password_stdin: bool, prompt: str = "Password") -> str:
    if password_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            _fail("no password on standard input")
        return password
    value: str = click.prompt(prompt, hide_input=True, confirmation_prompt=True)
    return value


def _size(value: str | None, key: str) -> int | None:
    if value is None:
        return None
    try:
        return config_mod.parse_size(value, key)
    except config_mod.ConfigError as exc:
        _fail(str(exc), 2)


def _human(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f}{unit}".replace(".0" + unit, unit)
    return f"{n}B"


@click.group()
@click.option("--config", "config_path", envvar="POSTBUS_CONFIG", default=None,
              type=click.Path(dir_okay=False), help="TOML configuration file.")
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """Postbus mail hosting: run the service and administer it."""
    ctx.obj = {"config": config_path}


@main.command()
@click.pass_context
def serve(ctx: click.Context) -> None:
    """Start every configured listener."""
    from postbus.server import run

    run(_settings(ctx))


@main.command("config")
@click.option("--check", is_flag=True, help="Only validate the configuration file.")
@click.pass_context
def config_cmd(ctx: click.Context, check: bool) -> None:
    """Print every setting with its default and meaning."""
    settings = _settings(ctx)
    if check:
        click.echo(f"configuration ok (data_dir {settings.data_dir})")
        return
    click.echo(config_mod.describe_defaults(), nl=False)


@main.command("init-demo")
@click.pass_context
def init_demo(ctx: click.Context) -> None:
    """On first use: a demo domain, mailbox and operator, passwords printed once."""

    async def run(app: App) -> None:
        if await app.store.get_setting("demo_initialised"):
            click.echo("postbus: demo data exists already (its passwords were printed at creation)")
            return
        user_pw = "Pb-" + secrets.token_urlsafe(12)
        op_pw = "Pb-" + secrets.token_urlsafe(12)
        await app.accounts.add_domain("demo.test")
        await app.accounts.add_user("demo@demo.test", user_pw)
        await app.accounts.add_admin("operator", op_pw, operator=True)
        await app.store.set_setting("demo_initialised", datetime.datetime.now(datetime.UTC).isoformat())
        click.echo("postbus: created demo data (these passwords are shown only now):")
        click.echo(f"  mailbox   demo@demo.test  password {user_pw}")
        click.echo(f"  operator  operator        password {op_pw}")

    _with_app(ctx, run)


# -- domains -------------------------------------------------------------------
@main.group()
def domain() -> None:
    """Hosted domains."""


@domain.command("add")
@click.argument("name")
@click.pass_context
def domain_add(ctx: click.Context, name: str) -> None:
    """Host a domain (and make its DKIM key)."""
    async def run(app: App) -> None:
        made = await app.accounts.add_domain(name)
        d = made.domain
        click.echo(f"added domain {display_domain(d.name)}")
        click.echo("publish this DNS record to sign outbound mail with DKIM:")
        click.echo(f'{d.dkim_selector}._domainkey.{d.name}. IN TXT "{made.dkim_txt}"')

    _with_app(ctx, run)


@domain.command("list")
@click.pass_context
def domain_list(ctx: click.Context) -> None:
    async def run(app: App) -> None:
        for d in await app.accounts.list_domains():
            click.echo(display_domain(d.name))

    _with_app(ctx, run)


@domain.command("remove")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask; removes its mailboxes and all their mail.")
@click.pass_context
def domain_remove(ctx: click.Context, name: str, yes: bool) -> None:
    if not yes and sys.stdin.isatty():
        click.confirm(f"Remove {name} with all its mailboxes and mail?", abort=True)
    _with_app(ctx, lambda app: app.accounts.remove_domain(name))
    click.echo(f"removed domain {name}")


@domain.command("dns")
@click.argument("name")
@click.pass_context
def domain_dns(ctx: click.Context, name: str) -> None:
    """Print the DNS records to publish for a domain (MX, SPF, DKIM, DMARC)."""
    from postbus.mailauth.dkim import dns_txt_record

    settings = _settings(ctx)

    async def run(app: App) -> None:
        d = await app.accounts.get_domain(name)
        if d is None:
            _fail(f"domain {name} is not hosted here")
        click.echo(f"{d.name}. IN MX 10 {settings.hostname}.")
        click.echo(f'{d.name}. IN TXT "v=spf1 mx -all"')
        if d.dkim_private_key:
            click.echo(f'{d.dkim_selector}._domainkey.{d.name}. IN TXT "{dns_txt_record(d.dkim_private_key)}"')
        click.echo(f'_dmarc.{d.name}. IN TXT "v=DMARC1; p=quarantine"')

    _with_app(ctx, run)


# -- mailboxes -----------------------------------------------------------------
@main.group()
def user() -> None:
    """Mailbox users."""


@user.command("add")
@click.argument("address")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--quota", default=None, help='Quota over all folders, e.g. "2GB"; default from config.')
@click.pass_context
def user_add(ctx: click.Context, address: str, password_stdin: bool, quota: str | None) -> None:
    size = _size(quota, "--quota")
    password = _read_password(password_stdin)
    account = _with_app(ctx, lambda app: app.accounts.add_user(address, password, quota=size))
    click.echo(f"added mailbox {display_address(account.address)} (quota {_human(account.quota_bytes)})")


@user.command("list")
@click.argument("domain_name", required=False)
@click.pass_context
def user_list(ctx: click.Context, domain_name: str | None) -> None:
    async def run(app: App) -> None:
        for a in await app.accounts.list_users(domain_name):
            state = "" if a.enabled else "  (disabled)"
            quota = _human(a.quota_bytes) if a.quota_bytes else "unlimited"
            click.echo(f"{display_address(a.address)}  {_human(a.used_bytes)} of {quota}"
                       f"  {a.used_messages} messages{state}")

    _with_app(ctx, run)


@user.command("remove")
@click.argument("address")
@click.pass_context
def user_remove(ctx: click.Context, address: str) -> None:
    _with_app(ctx, lambda app: app.accounts.remove_user(address))
    click.echo(f"removed mailbox {address}")


@user.command("passwd")
@click.argument("address")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_context
def user_passwd(ctx: click.Context, address: str, password_stdin: bool) -> None:
    password = _read_password(password_stdin, "New password")
    _with_app(ctx, lambda app: app.accounts.set_password(address, password))
    click.echo(f"password changed for {address}")


@user.command("quota")
@click.argument("address")
@click.argument("size")
@click.pass_context
def user_quota(ctx: click.Context, address: str, size: str) -> None:
    """Set a mailbox's quota ("0" is unlimited)."""
    value = _size(size, "SIZE")
    assert value is not None
    _with_app(ctx, lambda app: app.accounts.set_quota(address, value))
    click.echo(f"quota of {address} is now {_human(value) if value else 'unlimited'}")


# -- aliases -------------------------------------------------------------------
@main.group()
def alias() -> None:
    """Aliases: one source address (or @domain for a catch-all), several targets."""


@alias.command("add")
@click.argument("source")
@click.argument("targets", nargs=-1, required=True)
@click.pass_context
def alias_add(ctx: click.Context, source: str, targets: tuple[str, ...]) -> None:
    made = _with_app(ctx, lambda app: app.accounts.add_alias(source, targets))
    click.echo(f"{made.source} -> {', '.join(made.targets)}")


@alias.command("list")
@click.argument("domain_name", required=False)
@click.pass_context
def alias_list(ctx: click.Context, domain_name: str | None) -> None:
    async def run(app: App) -> None:
        for a in await app.accounts.list_aliases(domain_name):
            click.echo(f"{a.source} -> {', '.join(a.targets)}")

    _with_app(ctx, run)


@alias.command("remove")
@click.argument("source")
@click.argument("targets", nargs=-1)
@click.pass_context
def alias_remove(ctx: click.Context, source: str, targets: tuple[str, ...]) -> None:
    _with_app(ctx, lambda app: app.accounts.remove_alias(source, targets))
    click.echo(f"removed {source}" + (f" -> {', '.join(targets)}" if targets else ""))


# -- forwarding and vacation (administrators only: mailbox users cannot set them) ----
@main.group()
def forward() -> None:
    """Forwarding of a mailbox's mail to other addresses."""


@forward.command("set")
@click.argument("address")
@click.argument("targets", nargs=-1, required=True)
@click.option("--keep-copy", is_flag=True, help="Also keep the mail in the mailbox.")
@click.pass_context
def forward_set(ctx: click.Context, address: str, targets: tuple[str, ...], keep_copy: bool) -> None:
    rule = _with_app(ctx, lambda app: Rules(app.store).set_forward(address, targets, keep_copy=keep_copy))
    copy = " (keeping a copy)" if rule.keep_copy else ""
    click.echo(f"{address} forwards to {', '.join(rule.targets)}{copy}")


@forward.command("clear")
@click.argument("address")
@click.pass_context
def forward_clear(ctx: click.Context, address: str) -> None:
    _with_app(ctx, lambda app: Rules(app.store).clear_forward(address))
    click.echo(f"{address} no longer forwards")


@main.group()
def vacation() -> None:
    """Vacation auto-replies (RFC 3834)."""


def _date(value: str | None, option: str) -> float | None:
    if value is None:
        return None
    try:
        when = datetime.datetime.fromisoformat(value)
    except ValueError:
        _fail(f"{option}: {value!r} is not a date (write YYYY-MM-DD or YYYY-MM-DDTHH:MM)")
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return when.timestamp()


@vacation.command("set")
@click.argument("address")
@click.option("--subject", "-s", required=True, help="Subject of the reply.")
@click.option("--body-file", type=click.File("r", encoding="utf-8"), default=None,
              help="File with the reply text ('-' for standard input).")
@click.option("--start", default=None, help="First day (YYYY-MM-DD), UTC.")
@click.option("--end", default=None, help="Day the replies stop (YYYY-MM-DD), UTC.")
@click.option("--interval-days", type=int, default=7, show_default=True,
              help="Answer each sender at most once per this many days.")
@click.pass_context
def vacation_set(ctx: click.Context, address: str, subject: str, body_file: Any,
                 start: str | None, end: str | None, interval_days: int) -> None:
    body = body_file.read() if body_file is not None else ""
    rule = Vacation(subject=subject, body=body, start=_date(start, "--start"),
                    end=_date(end, "--end"), interval_days=interval_days)
    _with_app(ctx, lambda app: Rules(app.store).set_vacation(address, rule))
    click.echo(f"vacation reply set for {address}")


@vacation.command("clear")
@click.argument("address")
@click.pass_context
def vacation_clear(ctx: click.Context, address: str) -> None:
    _with_app(ctx, lambda app: Rules(app.store).clear_vacation(address))
    click.echo(f"vacation reply cleared for {address}")


# -- administrators --------------------------------------------------------------
@main.group()
def admin() -> None:
    """Administrators: operators (every domain) and domain administrators."""


@admin.command("add")
@click.argument("name")
@click.option("--operator", is_flag=True, help="Operator of the whole service.")
@click.option("--domain", "domains", multiple=True, help="A domain this administrator manages.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_context
def admin_add(ctx: click.Context, name: str, operator: bool, domains: tuple[str, ...],
              password_stdin: bool) -> None:
    if not operator and not domains:
        _fail("give --operator or at least one --domain")
    password = _read_password(password_stdin)
    made = _with_app(ctx, lambda app: app.accounts.add_admin(
        name, password, operator=operator, domains=domains))
    scope = "operator" if made.operator else "administrator of " + ", ".join(made.domains)
    click.echo(f"added {made.name}, {scope}")


@admin.command("list")
@click.pass_context
def admin_list(ctx: click.Context) -> None:
    async def run(app: App) -> None:
        for a in await app.accounts.list_admins():
            click.echo(f"{a.name}  " + ("operator" if a.operator else ", ".join(a.domains)))

    _with_app(ctx, run)


@admin.command("remove")
@click.argument("name")
@click.pass_context
def admin_remove(ctx: click.Context, name: str) -> None:
    _with_app(ctx, lambda app: app.accounts.remove_admin(name))
    click.echo(f"removed administrator {name}")


@admin.command("token")
@click.argument("name")
@click.pass_context
def admin_token(ctx: click.Context, name: str) -> None:
    """Print a new API token for NAME (its last line)."""
    token = _with_app(ctx, lambda app: app.accounts.new_api_token(name))
    click.echo("new API token (shown only now):")
    click.echo(token)


# -- queue ---------------------------------------------------------------------
@main.group()
def queue() -> None:
    """The outbound queue."""


@queue.command("list")
@click.pass_context
def queue_list(ctx: click.Context) -> None:
    async def run(app: App) -> None:
        items = await app.store.list_queue()
        for item in items:
            when = datetime.datetime.fromtimestamp(item.next_attempt, datetime.UTC)
            pending = [r for r in item.recipients if r.status == "pending"]
            click.echo(f"{item.id}  from <{item.sender}>  {_human(item.size)}  attempts {item.attempts}"
                       f"  next {when:%Y-%m-%d %H:%M:%S}Z")
            for r in pending:
                click.echo(f"    to <{r.address}>  {r.last_reply}")
        click.echo(f"{len(items)} queued")

    _with_app(ctx, run)


@queue.command("retry")
@click.argument("item_id", type=int, required=False)
@click.pass_context
def queue_retry(ctx: click.Context, item_id: int | None) -> None:
    import time

    count = _with_app(ctx, lambda app: app.store.retry_queue(item_id, time.time()))
    click.echo(f"{count} queued message(s) due now")


@queue.command("delete")
@click.argument("item_id", type=int)
@click.pass_context
def queue_delete(ctx: click.Context, item_id: int) -> None:
    _with_app(ctx, lambda app: app.store.delete_queue_item(item_id))
    click.echo(f"deleted queued message {item_id}")


# -- migration to PostgreSQL -------------------------------------------------------
@main.command("migrate")
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
    from pathlib import Path

    from postbus.store.migrate import MigrationError, migrate_to_postgres, redact

    settings = _settings(ctx)
    try:
        report = asyncio.run(migrate_to_postgres(Path(settings.data_dir), url, progress=click.echo))
    except MigrationError as exc:
        _fail(str(exc))
    counts = report.counts
    click.echo(
        f"migrated {counts['domains']} domains, {counts['accounts']} accounts,"
        f" {counts['mailboxes']} folders, {counts['messages']} messages,"
        f" {counts['blobs']} bodies ({_human(report.body_bytes)}), {counts['queue']} queued"
        f" in {report.seconds:.1f}s; row counts verified"
    )
    click.echo(f'next: set [storage] backend = "postgresql" and url = "{redact(url)}",'
               " then start postbus serve")


def _main() -> Any:
    return main()


if __name__ == "__main__":
    main()
