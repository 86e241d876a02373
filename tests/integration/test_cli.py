"""The `postbus` command line, run as a user would run it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from postbus.store import Store
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
        ' (write e.g. "12MB", "1GB", "512KB")')
    assert "Traceback" not in result.stderr


def test_domains_users_aliases_admins(cfg: Path) -> None:
    out = postbus(cfg, "domain", "add", "Bücher.Example").stdout
    assert "added domain bücher.example" in out
    assert '._domainkey.xn--bcher-kva.example. IN TXT "v=DKIM1; k=rsa; p=' in out
    assert postbus(cfg, "domain", "list").stdout.split() == ["bücher.example"]
    postbus(cfg, "user", "add", "Anna@BÜCHER.example", "--password-stdin", "--quota", "2GB",
            stdin=STRONG + "\n")
    listing = postbus(cfg, "user", "list").stdout
    assert "anna@bücher.example  0B of 2GB  0 messages" in listing
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
    postbus(cfg, "user", "remove", "anna@bücher.example")
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
