"""The DNS records to publish for a domain, and through `postbus domain dns`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from postbus.accounts.dns import MAX_CHARACTER_STRING, domain_records, server_records, txt_value
from postbus.cli import main
from postbus.config import from_dict
from postbus.mailauth.dkim import dns_txt_record, generate_key
from postbus.store.model import Domain


def test_records_follow_hostname_and_listeners() -> None:
    settings = from_dict({"hostname": "Mail.Example.NET",
                          "listen": {"pop3": "", "imaps": "0.0.0.0:10993", "https": ":8443"}})
    key = generate_key()
    lines = [r.zone_line() for r in domain_records(Domain(1, "example.test", "s1", key), settings)]
    assert lines[:2] == ["example.test. IN MX 10 mail.example.net.",
                         'example.test. IN TXT "v=spf1 mx -all"']
    assert lines[2].startswith('s1._domainkey.example.test. IN TXT "v=DKIM1; k=rsa; p=')
    assert '_dmarc.example.test. IN TXT "v=DMARC1; p=quarantine"' in lines
    assert "autoconfig.example.test. IN CNAME mail.example.net." in lines
    assert "autodiscover.example.test. IN CNAME mail.example.net." in lines
    assert "_autodiscover._tcp.example.test. IN SRV 0 0 8443 mail.example.net." in lines
    assert "_imaps._tcp.example.test. IN SRV 0 1 10993 mail.example.net." in lines
    assert "_submission._tcp.example.test. IN SRV 0 1 587 mail.example.net." in lines
    assert "_pop3._tcp.example.test. IN SRV 0 0 0 ." in lines  # RFC 6186 §3.4: not offered
    no_key = domain_records(Domain(1, "example.test"), settings)
    assert not any("_domainkey" in r.name for r in no_key)


def test_the_dkim_key_is_split_into_character_strings() -> None:
    """RFC 1035 §3.3.14: at most 255 octets a string; joined, they are the record."""
    key = generate_key()
    records = domain_records(Domain(1, "example.test", "s1", key), from_dict({}))
    dkim = next(r for r in records if r.name == "s1._domainkey.example.test.")
    strings = re.findall(r'"([^"]*)"', dkim.value)
    assert len(strings) >= 2  # a 2048-bit key does not fit one
    assert all(len(s.encode()) <= MAX_CHARACTER_STRING for s in strings)
    assert len(strings[0]) == MAX_CHARACTER_STRING
    assert dkim.value == " ".join(f'"{s}"' for s in strings)
    assert "".join(strings) == dns_txt_record(key)


@pytest.mark.parametrize(("text", "value"), [
    ("", '""'),
    ("v=spf1 mx -all", '"v=spf1 mx -all"'),
    ("a" * 255, '"' + "a" * 255 + '"'),
    ("a" * 256, '"' + "a" * 255 + '" "a"'),
    ('say "hi" \\ ok', '"say \\"hi\\" \\\\ ok"'),
])
def test_txt_value(text: str, value: str) -> None:
    assert txt_value(text) == value


def test_server_records_cover_the_srs_domain() -> None:
    plain = from_dict({"hostname": "mail.example.net"})
    assert [r.zone_line() for r in server_records(plain)] == [
        'mail.example.net. IN TXT "v=spf1 a -all"']
    srs = from_dict({"hostname": "mail.example.net", "srs": {"domain": "fwd.example.net"}})
    assert [r.zone_line() for r in server_records(srs)][1:] == [
        "fwd.example.net. IN MX 10 mail.example.net.",
        'fwd.example.net. IN TXT "v=spf1 a:mail.example.net -all"']


def test_cli_prints_them(tmp_path: Path) -> None:
    config = tmp_path / "postbus.toml"
    config.write_text(f'hostname = "mail.example.net"\ndata_dir = "{tmp_path / "var"}"\n')
    runner = CliRunner()
    assert runner.invoke(main, ["--config", str(config), "domain", "add", "example.test"]).exit_code == 0
    out = runner.invoke(main, ["--config", str(config), "domain", "dns", "example.test"])
    assert out.exit_code == 0, out.output
    assert "autoconfig.example.test. IN CNAME mail.example.net." in out.output
    assert 'mail.example.net. IN TXT "v=spf1 a -all"' in out.output
    missing = runner.invoke(main, ["--config", str(config), "domain", "dns", "other.test"])
    assert missing.exit_code == 1
