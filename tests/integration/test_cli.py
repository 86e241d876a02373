"""The `postbus` command line, run as a user would run it."""

from __future__ import annotations

import asyncio
import os
import pty
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest

from postbus.config import load
from postbus.store import Store
from tests.support.mail import deliver_sync
from tests.support.mailstore import _read
from tests.support.server import postbus, write_config

STRONG = "Tq7#mZ2v!pLx"


def _password_hash(address: str) -> Callable[[Store], Awaitable[str]]:
    async def read(store: Store) -> str:
        account = await store.get_account(address)
        assert account is not None
        return account.password_hash

    return read


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    return write_config(tmp_path)


def test_weak_passwords_are_refused_with_the_rule(cfg: Path) -> None:
    postbus(cfg, "domain", "add", "example.test")
    for password, rule in [("Wachtwoord1", "dictionary"), ("welkom123", "dictionary"),
                           ("example2024", "user name"), ("weak@example.test", "user name"),
                           ("short", "characters")]:
        result = postbus(cfg, "user", "add", "weak@example.test", "--password-stdin",
                         stdin=password + "\n", check=False)
        assert result.returncode == 1, password
        assert rule in result.stderr, (password, result.stderr)
        assert result.stderr.count("\n") == 1
    result = postbus(cfg, "user", "add", "weak@example.test", "--password-stdin", stdin=STRONG + "\n")
    assert "added mailbox weak@example.test" in result.stdout
    stored = _read(cfg, _password_hash("weak@example.test"))
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_bad_config_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[limits]\nmax_message_size = "12 parsecs"\n')
    result = postbus(bad, "domain", "list", check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "postbus: config error: limits.max_message_size: '12 parsecs' is not a size"
        ' (write e.g. "12MiB", "1GiB", "512KiB"; units are binary)')
    assert "Traceback" not in result.stderr


def test_domains_users_aliases_admins(cfg: Path) -> None:
    out = postbus(cfg, "domain", "add", "Bücher.Example").stdout
    assert "added domain bücher.example" in out
    assert '._domainkey.xn--bcher-kva.example. IN TXT "v=DKIM1; k=rsa; p=' in out
    assert postbus(cfg, "domain", "list").stdout.split() == ["bücher.example"]
    postbus(cfg, "user", "add", "Anna@BÜCHER.example", "--password-stdin", "--quota", "2GB",
            stdin=STRONG + "\n")
    listing = postbus(cfg, "user", "list").stdout
    assert "anna@bücher.example  0 B of 2 GiB  0 messages" in listing
    dup = postbus(cfg, "user", "add", "anna@xn--bcher-kva.example", "--password-stdin",
                  stdin=STRONG + "\n", check=False)
    assert dup.returncode == 1 and "exists" in dup.stderr
    nodomain = postbus(cfg, "user", "add", "x@elsewhere.test", "--password-stdin",
                       stdin=STRONG + "\n", check=False)
    assert nodomain.returncode == 1 and "not hosted" in nodomain.stderr
    postbus(cfg, "alias", "add", "info@bücher.example", "anna@bücher.example", "bob@other.test")
    postbus(cfg, "alias", "add", "@bücher.example", "anna@bücher.example")
    aliases = postbus(cfg, "alias", "list").stdout
    assert "info@xn--bcher-kva.example -> anna@xn--bcher-kva.example, bob@other.test" in aliases
    assert "@xn--bcher-kva.example -> anna@xn--bcher-kva.example" in aliases
    postbus(cfg, "alias", "remove", "info@bücher.example", "bob@other.test")
    assert "bob@other.test" not in postbus(cfg, "alias", "list").stdout
    postbus(cfg, "admin", "add", "root", "--operator", "--password-stdin", stdin="Zr8!kQ2w#Lm5\n")
    postbus(cfg, "admin", "add", "webmaster", "--domain", "bücher.example", "--password-stdin",
            stdin="Hv4$nP9x@Tc2\n")
    admins = postbus(cfg, "admin", "list").stdout
    assert "root  operator" in admins and "webmaster  xn--bcher-kva.example" in admins
    token = postbus(cfg, "admin", "token", "root").stdout.splitlines()[-1]
    assert token.startswith("pb_") and len(token) > 30
    postbus(cfg, "user", "passwd", "anna@bücher.example", "--password-stdin", stdin="Xw9&bR4t!Ke7\n")
    weak = postbus(cfg, "user", "passwd", "anna@bücher.example", "--password-stdin",
                   stdin="password1\n", check=False)
    assert weak.returncode == 1
    postbus(cfg, "user", "remove", "anna@bücher.example", "--yes")
    postbus(cfg, "domain", "remove", "bücher.example", "--yes")
    assert postbus(cfg, "domain", "list").stdout == ""


def test_admin_requires_a_scope(cfg: Path) -> None:
    result = postbus(cfg, "admin", "add", "x", "--password-stdin", stdin=STRONG + "\n", check=False)
    assert result.returncode == 1 and "--operator" in result.stderr


def test_config_prints_documented_defaults(cfg: Path) -> None:
    out = postbus(cfg, "config").stdout
    assert 'default_quota = "1GB"  # quota of a new mailbox' in out


def test_queue_commands_on_an_empty_queue(cfg: Path) -> None:
    assert postbus(cfg, "queue", "list").stdout.strip() == "0 queued"
    missing = postbus(cfg, "queue", "delete", "42", check=False)
    assert missing.returncode == 1 and "no queue item 42" in missing.stderr


def test_forward_and_vacation(cfg: Path, tmp_path: Path) -> None:
    postbus(cfg, "domain", "add", "example.test")
    postbus(cfg, "user", "add", "anna@example.test", "--password-stdin", stdin=STRONG + "\n")
    out = postbus(cfg, "forward", "set", "anna@example.test", "x@remote.test", "--keep-copy").stdout
    assert out.strip() == "anna@example.test forwards to x@remote.test (keeping a copy)"
    self_loop = postbus(cfg, "forward", "set", "anna@example.test", "anna@example.test", check=False)
    assert self_loop.returncode == 1 and "itself" in self_loop.stderr
    postbus(cfg, "forward", "clear", "anna@example.test")
    body = tmp_path / "away.txt"
    body.write_text("Back on Monday.\n")
    postbus(cfg, "vacation", "set", "anna@example.test", "--subject", "Away", "--body-file", str(body),
            "--start", "2026-12-01", "--end", "2026-12-24")
    bad = postbus(cfg, "vacation", "set", "anna@example.test", "--subject", "Away",
                  "--start", "2026-12-24", "--end", "2026-12-01", check=False)
    assert bad.returncode == 1 and "ends before it starts" in bad.stderr
    nobody = postbus(cfg, "vacation", "set", "nobody@example.test", "--subject", "x", check=False)
    assert nobody.returncode == 1 and "no mailbox" in nobody.stderr
    postbus(cfg, "vacation", "clear", "anna@example.test")


# -- removing things (issue 10 item 8) -------------------------------------------

def _message(size: int) -> bytes:
    body = (b"x" * 76 + b"\r\n") * (size // 78 + 1)
    return b"From: a@remote.test\r\nTo: anna@example.test\r\nSubject: hi\r\n\r\n" + body


def _blob_ids(cfg: Path, address: str) -> list[str]:
    async def read(store: Store) -> list[str]:
        account = await store.get_account(address)
        assert account is not None
        ids = []
        for mailbox in await store.list_mailboxes(account.id):
            uids = [m.uid for m in await store.list_messages(mailbox.id)]
            ids += [info.blob_id for info in await store.fetch_info(mailbox.id, uids)]
        return ids

    return _read(cfg, read)


def _blob_gone(cfg: Path, blob_id: str) -> bool:
    async def read(store: Store) -> bool:
        try:
            await store.read_blob(blob_id)
        except Exception:  # each backend names a missing body its own way
            return True
        return False

    return _read(cfg, read)


def _age_bodies(cfg: Path, seconds: float) -> None:
    """Makes every stored body `seconds` older, past the collection's grace period
    (bodies written in the last hour wait for the hourly clean-up: deliveries in
    flight may be about to reference them)."""
    settings = load(cfg)
    if settings.storage.backend == "postgresql":
        async def update() -> None:
            conn = await asyncpg.connect(settings.storage.url)
            try:
                await conn.execute("UPDATE blobs SET created = created - $1", seconds)
            finally:
                await conn.close()

        asyncio.run(update())
        return
    data = Path(settings.data_dir)
    with sqlite3.connect(data / "postbus.sqlite3") as conn:
        conn.execute("UPDATE blobs_inline SET created = created - ?", (seconds,))
    for body in (data / "blobs").glob("??/??/*"):
        then = body.stat().st_mtime - seconds
        os.utime(body, (then, then))


def _mailbox_with_mail(cfg: Path, *, age: float = 2 * 3600) -> list[str]:
    postbus(cfg, "domain", "add", "example.test")
    postbus(cfg, "user", "add", "anna@example.test", "--password-stdin", stdin=STRONG + "\n")
    postbus(cfg, "user", "add", "bob@example.test", "--password-stdin", stdin=STRONG + "\n")
    # one body stored inline, one large enough to be a file of its own on SQLite
    deliver_sync(cfg, "anna@example.test", [_message(1000), _message(200_000)])
    if age:
        _age_bodies(cfg, age)
    return _blob_ids(cfg, "anna@example.test")


def test_domain_remove_without_a_terminal_needs_yes(cfg: Path) -> None:
    _mailbox_with_mail(cfg)
    refused = postbus(cfg, "domain", "remove", "example.test", stdin="", check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "postbus: not removing domain example.test with all its mailboxes and mail without"
        " confirmation: add --yes (standard input is not a terminal)")
    assert refused.stdout.startswith("domain example.test: 2 mailboxes, 2 messages, 19")
    assert postbus(cfg, "domain", "list").stdout.split() == ["example.test"]
    assert "anna@example.test" in postbus(cfg, "user", "list").stdout


def test_user_remove_without_a_terminal_needs_yes(cfg: Path) -> None:
    _mailbox_with_mail(cfg)
    refused = postbus(cfg, "user", "remove", "anna@example.test", stdin="", check=False)
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1 and "add --yes" in refused.stderr
    assert "anna@example.test" in postbus(cfg, "user", "list").stdout


def test_domain_remove_reports_and_removes_the_mail_at_once(cfg: Path) -> None:
    blobs = _mailbox_with_mail(cfg, age=0)  # fresh mail too: no grace period for removed mail
    assert len(blobs) == 2 and not any(_blob_gone(cfg, b) for b in blobs)
    out = postbus(cfg, "domain", "remove", "example.test", "--yes", stdin="").stdout.splitlines()
    assert out[0].startswith("domain example.test: 2 mailboxes, 2 messages, 19")
    assert out[0].endswith(" KiB")
    assert out[1] == "removed domain " + out[0].removeprefix("domain ")
    assert postbus(cfg, "domain", "list").stdout == ""
    assert all(_blob_gone(cfg, b) for b in blobs)


def test_user_remove_reports_and_removes_the_mail_at_once(cfg: Path) -> None:
    blobs = _mailbox_with_mail(cfg, age=0)
    out = postbus(cfg, "user", "remove", "Anna@example.test", "--yes", stdin="").stdout.splitlines()
    assert out[0].startswith("mailbox anna@example.test: 1 mailbox, 2 messages, 19")
    assert out[1] == "removed " + out[0]
    assert "anna@" not in postbus(cfg, "user", "list").stdout
    assert all(_blob_gone(cfg, b) for b in blobs)
    missing = postbus(cfg, "user", "remove", "anna@example.test", "--yes", check=False)
    assert missing.returncode == 1 and missing.stderr.strip() == "postbus: no mailbox anna@example.test"


def _on_a_terminal(cfg: Path, args: list[str], answer: bytes) -> tuple[int, str]:
    """Runs the CLI with a pseudo-terminal as stdin and stdout; types `answer` at the prompt."""
    main, child = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "postbus.cli", "--config", str(cfg), *args],
                            stdin=child, stdout=child, stderr=child)
    os.close(child)
    output = b""
    answered = False
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
        if not answered and b"[y/N]" in output:
            os.write(main, answer)
            answered = True
    os.close(main)
    return proc.wait(timeout=60), output.decode()


@pytest.mark.parametrize("answer", [b"n\n", b"y\n"])
def test_remove_asks_on_a_terminal(cfg: Path, answer: bytes) -> None:
    _mailbox_with_mail(cfg)
    code, out = _on_a_terminal(cfg, ["user", "remove", "bob@example.test"], answer)
    assert "mailbox bob@example.test: 1 mailbox, 0 messages, 0 B" in out
    assert "Remove mailbox bob@example.test with all its mail? [y/N]" in out
    assert code == (0 if answer == b"y\n" else 1)
    assert ("bob@example.test" in postbus(cfg, "user", "list").stdout) == (answer == b"n\n")
    code, out = _on_a_terminal(cfg, ["domain", "remove", "example.test"], answer)
    assert "domain example.test: " in out and ", 2 messages" in out
    assert "Remove domain example.test with all its mailboxes and mail? [y/N]" in out
    left = postbus(cfg, "domain", "list").stdout.split()
    if answer == b"y\n":
        assert code == 0 and "removed domain example.test" in out and left == []
    else:
        assert code == 1 and "not removed" in out and left == ["example.test"]


# -- finding the configuration (item 11), printing it (item 10) --------------------

def _bare(args: list[str], cwd: Path, env: dict[str, str] | None = None,
          ) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it: no --config unless given, in directory `cwd`."""
    environ = {k: v for k, v in os.environ.items() if k != "POSTBUS_CONFIG"} | (env or {})
    return subprocess.run([sys.executable, "-m", "postbus.cli", *args], cwd=cwd, env=environ,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_without_a_configuration_store_commands_refuse(tmp_path: Path) -> None:
    for args in (["domain", "list"], ["domain", "add", "example.test"], ["serve"], ["init-demo"]):
        result = _bare(args, tmp_path)
        assert result.returncode == 2, args
        assert result.stderr == ("postbus: no configuration: pass --config FILE, set POSTBUS_CONFIG,"
                                 " or run where ./postbus.toml is\n")
    assert list(tmp_path.iterdir()) == []  # no ./var made
    defaults = _bare(["config"], tmp_path)
    assert defaults.returncode == 0 and 'data_dir = "var"' in defaults.stdout
    assert "[changed]" not in defaults.stdout.split("\n", 1)[1]


def test_configuration_order_option_then_environment_then_working_directory(tmp_path: Path) -> None:
    for name in ("opt", "env", "cwd"):
        (tmp_path / name).mkdir()
        write_config(tmp_path / name, hostname=f"{name}.example")
    cwd = tmp_path / "cwd"
    env = {"POSTBUS_CONFIG": str(tmp_path / "env" / "postbus.toml")}

    def hostname(result: subprocess.CompletedProcess[str]) -> str:
        assert result.returncode == 0, result.stderr
        return next(line for line in result.stdout.splitlines() if line.startswith("hostname ="))

    assert '"opt.example"' in hostname(_bare(["--config", str(tmp_path / "opt" / "postbus.toml"),
                                             "config"], cwd, env))
    assert '"env.example"' in hostname(_bare(["config"], cwd, env))
    assert '"cwd.example"' in hostname(_bare(["config"], cwd))
    assert _bare(["domain", "add", "example.test"], cwd).returncode == 0
    assert (cwd / "var").is_dir() and not (tmp_path / "env" / "var").exists()
    missing = _bare(["domain", "list"], cwd, {"POSTBUS_CONFIG": str(tmp_path / "nope.toml")})
    assert missing.returncode == 2 and "nope.toml: cannot read the configuration" in missing.stderr


def test_config_prints_effective_values_and_marks_changes(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, {"limits": {"default_quota": "2GiB"},
                                  "relay": {"password": "hunter2-secret"}}, hostname="mail.example.org")
    out = postbus(cfg, "config").stdout
    assert out.startswith(f"# the configuration in use: {cfg.resolve()}")
    assert 'hostname = "mail.example.org"  # [changed] default "localhost"; this node' in out
    assert 'default_quota = "2GiB"  # [changed] default "1GB"; quota of a new mailbox' in out
    assert 'password = "********"  # [changed] default ""' in out
    assert "hunter2" not in out
    # data_dir = "var" in the file is the default, resolved beside the file
    assert f'data_dir = "{tmp_path / "var"}"  # embedded store' in out
    assert 'max_message_size = "12MB"  # largest message' in out
    assert 'auth_failure_delay = 0  # [changed] default "2s"' in out
    checked = postbus(cfg, "config", "--check").stdout
    assert checked.strip() == f"configuration ok: {cfg} (data_dir {tmp_path / 'var'})"


# -- start-up errors (item 9) ------------------------------------------------------

@pytest.mark.parametrize("listener", ["imaps", "smtp", "https"])
def test_a_port_in_use_is_one_line_and_exit_2(tmp_path: Path, listener: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        cfg = write_config(tmp_path, {"listen": {listener: f"127.0.0.1:{port}"}}, log_level="WARNING")
        result = subprocess.run([sys.executable, "-m", "postbus.cli", "--config", str(cfg), "serve"],
                                capture_output=True, text=True, timeout=60,
                                env={**os.environ, "POSTBUS_LOOP": "asyncio"})
    assert result.returncode == 2
    assert result.stderr == (f"postbus: cannot start the {listener} listener on 127.0.0.1:{port}:"
                             " address already in use\n")


def test_a_missing_certificate_is_one_line_and_exit_2(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, {"tls": {"cert": "missing.pem", "key": "missing.key"}},
                       log_level="WARNING")
    result = subprocess.run([sys.executable, "-m", "postbus.cli", "--config", str(cfg), "serve"],
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "POSTBUS_LOOP": "asyncio"})
    assert result.returncode == 2
    assert result.stderr == (f"postbus: cannot start the submissions listener on 127.0.0.1:0:"
                             f" certificate {tmp_path / 'missing.pem'}: no such file or directory\n")
