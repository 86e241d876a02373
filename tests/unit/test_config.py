"""Configuration: defaults, sizes, durations, addresses, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from postbus import config


def test_defaults_follow_the_design() -> None:
    s = config.load(None)
    assert s.max_message_size == 12 * 2**20 == 12_582_912
    assert s.default_quota == 2**30
    assert s.listen_address("imaps") == ("0.0.0.0", 993)
    assert s.storage.backend == "sqlite"
    assert s.duration("queue", "lifetime") == 5 * 86400


@pytest.mark.parametrize(("text", "value"), [
    ("12MB", 12 << 20), ("1GB", 1 << 30), ("512KB", 512 << 10), ("100", 100), ("1.5MB", 3 << 19),
    ("2 GiB", 2 << 30), ("1G", 1 << 30), ("1GiB", 1 << 30), ("1gb", 1 << 30), ("64K", 64 << 10),
])
def test_sizes(text: str, value: int) -> None:
    assert config.parse_size(text) == value


@pytest.mark.parametrize(("data", "message"), [
    ({"limits": {"max_message_size": "12 parsecs"}}, "limits.max_message_size: '12 parsecs' is not a size"),
    ({"bogus": 1}, "bogus: unknown key"),
    ({"limits": {"nope": 1}}, "limits.nope: unknown key"),
    ({"listen": {"imap": "nonsense"}}, "listen.imap: 'nonsense' is not an address"),
    ({"listen": {"imap": "127.0.0.1:99999"}}, "listen.imap: port 99999 is out of range"),
    ({"hostname": 3}, "hostname: expected `str`, got `int`"),
    ({"storage": {"backend": "mysql"}}, "storage.backend"),
    ({"storage": {"backend": "postgresql"}}, "storage.url"),
    ({"queue": {"lifetime": "forever"}}, "queue.lifetime"),
    ({"tls": {"cert": "a.pem"}}, "tls: set both cert and key"),
    ({"delivery": {"recipient_delimiter": "."}}, "delivery.recipient_delimiter: use only"),
    ({"delivery": {"recipient_delimiter": "+@"}}, "delivery.recipient_delimiter: use only"),
    ({"node_name": "mx1/w0"}, "node_name: 'mx1/w0' may not"),
    ({"node_name": "mx 1"}, "node_name: 'mx 1' may not"),
    ({"node_name": "mx#1"}, "node_name: 'mx#1' may not"),
    ({"hostname": "mail/w2"}, "hostname (the node's name without node_name): 'mail/w2' may not"),
])
def test_errors_name_the_key(data: dict, message: str) -> None:
    with pytest.raises(config.ConfigError) as info:
        config.from_dict(data)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_listen_forms() -> None:
    assert config.parse_listen("[::1]:993", "k") == ("::1", 993)
    assert config.parse_listen(":143", "k") == ("0.0.0.0", 143)
    assert config.parse_listen("", "k") is None


def test_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "pb.toml"
    path.write_text('data_dir = "state"\n')
    assert config.load(path).data_dir == str(tmp_path / "state")


def test_bad_toml(tmp_path: Path) -> None:
    path = tmp_path / "pb.toml"
    path.write_text("this is = = not toml")
    with pytest.raises(config.ConfigError, match="not valid TOML"):
        config.load(path)


def test_describe_defaults_round_trips() -> None:
    import tomllib

    text = config.describe_defaults()
    assert "max_message_size = \"12MB\"  # " in text
    assert config.from_dict(tomllib.loads(text)).max_message_size == 12 << 20


def test_find_order(tmp_path: Path) -> None:
    local = tmp_path / "postbus.toml"
    env = {"POSTBUS_CONFIG": "/etc/postbus/env.toml"}
    assert config.find(None, {}, tmp_path) is None  # nothing: no silent ./var
    local.write_text("")
    assert config.find(None, {}, tmp_path) == local
    assert config.find(None, env, tmp_path) == Path("/etc/postbus/env.toml")
    assert config.find("opt.toml", env, tmp_path) == Path("opt.toml")
    # an explicit choice is kept even when missing, so that load() names it
    assert config.find(None, {"POSTBUS_CONFIG": str(tmp_path / "gone.toml")}, tmp_path) == tmp_path / "gone.toml"


def test_describe_marks_changed_values_and_hides_secrets(tmp_path: Path) -> None:
    path = tmp_path / "postbus.toml"
    path.write_text('hostname = "mx.example.org"\ndata_dir = "var"\n[storage]\nbackend = "postgresql"\n'
                    'url = "postgresql://pb:hunter2@db/pb"\n[relay]\npassword = "hunter2"\n')
    text = config.describe(config.load(path), config.defaults_for(path))
    assert 'hostname = "mx.example.org"  # [changed] default "localhost"; this node' in text
    assert f'data_dir = "{tmp_path / "var"}"  # embedded store' in text  # the default, resolved
    assert 'url = "postgresql://pb:********@db/pb"  # [changed] default ""' in text
    assert 'password = "********"  # [changed] default ""' in text
    assert "hunter2" not in text
    assert text.count("[changed]") == 4
    unchanged = config.describe(config.from_dict({}))
    assert "[changed]" not in unchanged and unchanged == config.describe_defaults()
