"""Settings: one TOML file decoded into typed, documented structs.

Every key has a default and a one-line description (`postbus config` prints
them). Unknown keys, wrong types, bad sizes or durations and unparseable
listen addresses are refused with a `ConfigError` whose one-line message names
the key; the command line turns it into exit status 2.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import msgspec

from postbus.accounts.address import DEFAULT_RECIPIENT_DELIMITER, RECIPIENT_DELIMITER_CHARS

_SIZE_UNITS = {
    "": 1, "b": 1,
    "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
    "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
    "g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
    "t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40,
}
_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


# server.workers: more processes than this is a typo, not a machine.
MAX_WORKERS = 256


class ConfigError(ValueError):
    """A one-line, user-facing explanation naming the offending key."""


def doc(text: str) -> msgspec.Meta:
    return msgspec.Meta(description=text)


def parse_size(value: str | int, key: str = "size") -> int:
    """"12MB" → 12 × 2^20 bytes: every unit is binary (DESIGN.md: 12 MB = 12,582,912 bytes).

    K, KB and KiB all mean 2^10 bytes; M, MB, MiB 2^20; G, GB, GiB 2^30; T, TB, TiB
    2^40, in any case. A bare number is bytes. The command line prints sizes as
    KiB, MiB and GiB (`cli.common.human`) to say so.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ConfigError(f"{key}: a size cannot be negative")
        return value
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", str(value))
    if not m or m.group(2).lower() not in _SIZE_UNITS:
        raise ConfigError(f"{key}: {value!r} is not a size (write e.g. \"12MiB\", \"1GiB\", \"512KiB\"; units are binary)")
    return int(float(m.group(1)) * _SIZE_UNITS[m.group(2).lower()])


def parse_duration(value: str | int | float, key: str = "duration") -> float:
    """"5d" → 432000.0 seconds; a bare number is seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", str(value))
    if not m or m.group(2) not in _DURATION_UNITS:
        raise ConfigError(f"{key}: {value!r} is not a duration (write e.g. \"30s\", \"15m\", \"5d\")")
    return float(m.group(1)) * _DURATION_UNITS[m.group(2)]


def parse_listen(value: str, key: str) -> tuple[str, int] | None:
    """"127.0.0.1:25", "[::1]:993", ":143" (all addresses); "" disables the listener."""
    if value == "":
        return None
    m = re.fullmatch(r"(?:\[([0-9A-Fa-f:.]+)\]|([^:\[\]]*)):(\d{1,5})", value)
    if not m:
        raise ConfigError(f"{key}: {value!r} is not an address (write HOST:PORT, e.g. \"0.0.0.0:993\")")
    host = m.group(1) if m.group(1) is not None else m.group(2)
    port = int(m.group(3))
    if not 0 <= port <= 65535:
        raise ConfigError(f"{key}: port {port} is out of range")
    if host and m.group(1) is not None:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ConfigError(f"{key}: {host!r} is not an IPv6 address") from None
    elif host and not re.fullmatch(r"[A-Za-z0-9.-]+", host):
        raise ConfigError(f"{key}: {host!r} is not a host name or address")
    return (host or "0.0.0.0", port)


class _Section(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class Storage(_Section):
    backend: Annotated[str, doc('"sqlite" (embedded, default) or "postgresql"')] = "sqlite"
    url: Annotated[str, doc("postgresql://user@host/db when backend is postgresql")] = ""


class Listen(_Section):
    smtp: Annotated[str, doc("MX: accepts mail for hosted domains, STARTTLS offered, no AUTH")] = "0.0.0.0:25"
    submissions: Annotated[str, doc("submission with implicit TLS and AUTH (RFC 8314)")] = "0.0.0.0:465"
    submission: Annotated[str, doc("submission, STARTTLS required before AUTH")] = "0.0.0.0:587"
    imaps: Annotated[str, doc("IMAP with implicit TLS")] = "0.0.0.0:993"
    imap: Annotated[str, doc("IMAP, STARTTLS required before login")] = "0.0.0.0:143"
    pop3s: Annotated[str, doc("POP3 with implicit TLS")] = "0.0.0.0:995"
    pop3: Annotated[str, doc("POP3, STLS required before login")] = "0.0.0.0:110"
    https: Annotated[str, doc("webmail, admin, API, autoconfig, /healthz")] = "0.0.0.0:443"
    http: Annotated[str, doc("redirects to https")] = "0.0.0.0:80"
    metrics: Annotated[str, doc("Prometheus /metrics without a token; loopback addresses only")] = ""


class Server(_Section):
    workers: Annotated[str | int, doc('worker processes serving every listener: "auto" (one per core) or a number; 1 is a single process with no supervisor')] = "auto"
    user: Annotated[str, doc("when started as root: after the listening sockets are open, run as this user (and its group); it owns data_dir")] = ""
    allow_root: Annotated[bool, doc("serve as root when started as root with no user; otherwise that start is refused")] = False
    worker_timeout: Annotated[str | int, doc("a worker process whose event loop has not answered the supervisor for this long is killed and restarted")] = "60s"


class Tls(_Section):
    cert: Annotated[str, doc("PEM certificate chain; empty: a self-signed one is made in data_dir")] = ""
    key: Annotated[str, doc("PEM private key for cert")] = ""
    watch_interval: Annotated[str | int, doc("cert and key are re-read when their mtime changes, checked this often (and on SIGHUP)")] = "30s"
    acme: Annotated[bool, doc("get and renew the certificate by ACME (RFC 8555) for hostname and acme_names")] = False
    acme_directory: Annotated[str, doc("the ACME server's directory URL")] = "https://acme-v02.api.letsencrypt.org/directory"
    acme_contact: Annotated[str, doc("e-mail address the ACME server may write to about the certificate")] = ""
    acme_names: Annotated[list[str], doc("further names in the certificate besides hostname, e.g. autoconfig.DOMAIN, mta-sts.DOMAIN")] = []
    acme_challenge: Annotated[str, doc('"http-01" (needs the http listener on port 80), "tls-alpn-01" (https on 443), or "auto": http-01 when http listens')] = "auto"
    acme_renew_before: Annotated[str | int, doc("renew this long before the certificate expires")] = "30d"
    acme_check_interval: Annotated[str | int, doc("how often expiry, and a certificate another node ordered, are checked")] = "1h"
    acme_ca_bundle: Annotated[str, doc("PEM CA file to trust for the ACME server (tests); empty: the system's")] = ""


class Limits(_Section):
    max_message_size: Annotated[str | int, doc("largest message accepted anywhere (SMTP SIZE, IMAP APPENDLIMIT); binary units, 12MB = 12 MiB")] = "12MB"
    default_quota: Annotated[str | int, doc("quota of a new mailbox, over all its folders, binary units (1GB = 1 GiB); 0 is unlimited")] = "1GB"
    max_connections_per_ip: Annotated[int, doc("concurrent connections one client address (IPv6: one /64) may hold per listener; 0 is unlimited")] = 50
    max_connections_per_listener: Annotated[int, doc("concurrent connections one listener holds in total; 0 is unlimited")] = 5000
    idle_timeout: Annotated[str | int, doc("an IMAP connection idle longer than this after login is closed (RFC 9051: at least 30 min)")] = "31m"
    command_timeout: Annotated[str | int, doc("SMTP sessions, and IMAP and POP3 sessions before login, silent longer than this are closed")] = "5m"
    handshake_timeout: Annotated[str | int, doc("longest TLS handshake (implicit TLS and STARTTLS)")] = "30s"
    line_timeout: Annotated[str | int, doc("longest time from the first byte of a command line to its end")] = "1m"
    data_timeout: Annotated[str | int, doc("longest pause inside SMTP DATA/BDAT or an IMAP literal (RFC 5321 §4.5.3.2.5: 3 min)")] = "3m"


class Relay(_Section):
    host: Annotated[str, doc("smarthost for all outbound mail; empty delivers directly by MX")] = ""
    port: Annotated[int, doc("smarthost port")] = 587
    tls: Annotated[str, doc('"starttls", "implicit" or "none"')] = "starttls"
    username: Annotated[str, doc("smarthost AUTH user name")] = ""
    password: Annotated[str, doc("smarthost AUTH password")] = ""


class Queue(_Section):
    lifetime: Annotated[str | int, doc("how long undeliverable mail is retried before it bounces")] = "5d"
    delay_notice: Annotated[str | int, doc("after this long the sender gets a delay notice")] = "4h"
    first_retry: Annotated[str | int, doc("wait before the first retry; later waits double")] = "5m"
    max_retry_interval: Annotated[str | int, doc("longest wait between retries")] = "4h"
    concurrency: Annotated[int, doc("outbound deliveries in flight at once")] = 20


class LocalDelivery(_Section):
    recipient_delimiter: Annotated[str, doc('plus-addressing: user+tag@domain reaches user@domain unless user+tag exists; each character separates; "" disables')] = DEFAULT_RECIPIENT_DELIMITER


class Dns(_Section):
    nameservers: Annotated[list[str], doc("resolvers to ask; empty uses /etc/resolv.conf")] = []
    timeout: Annotated[str | int, doc("per-lookup timeout")] = "5s"
    static: Annotated[dict[str, list[str]], doc('fixed answers for tests, e.g. {"MX remote.test" = ["10 127.0.0.1"]}')] = {}
    mx_port: Annotated[int, doc("port used to reach remote MX hosts (25; tests change it)")] = 25


class Srs(_Section):
    enabled: Annotated[bool, doc("rewrite the envelope sender of mail forwarded to other domains (SRS), so SPF passes there")] = True
    domain: Annotated[str, doc('domain of the SRS addresses (its MX and SPF must be this server); "" uses hostname')] = ""
    max_age: Annotated[str | int, doc("how long a bounce to an SRS address is accepted (postsrsd: 21 days)")] = "21d"

    def srs_domain(self, hostname: str) -> str:
        return (self.domain or hostname).lower()


class Security(_Section):
    auth_failure_delay: Annotated[str | int, doc("pause before answering a failed login (0 in tests); doubles with each further failure of the same account from the same address")] = "2s"
    # -- login throttling and bans (issue 15, security/throttle.py) --
    auth_failure_max_delay: Annotated[str | int, doc("longest pause before answering a failed login")] = "30s"
    ban_after: Annotated[int, doc("failed logins from one address (IPv6: one /64) within ban_window that ban it; 0 never bans")] = 10
    ban_window: Annotated[str | int, doc("the window of ban_after, and how long failures are remembered")] = "10m"
    ban_duration: Annotated[str | int, doc("how long a ban lasts")] = "1h"
    account_slow_after: Annotated[int, doc("failed logins on one account from all addresses within ban_window after which each login to it from an address not known to it waits account_delay; 0 never")] = 30
    account_delay: Annotated[str | int, doc("the extra pause of a login to an account under attack (mild: the owner logs in too)")] = "1s"
    trusted_networks: Annotated[list[str], doc('networks never throttled nor banned, e.g. ["192.0.2.0/24"]; loopback is not trusted unless listed')] = []
    ban_refresh: Annotated[str | int, doc("how often a node re-reads the bans from the store for refusing at connect")] = "10s"
    # -- sending limits (issue 15, security/sending.py); 0 is no limit --
    mailbox_messages_per_hour: Annotated[int, doc("messages one mailbox may submit per clock hour")] = 100
    mailbox_messages_per_day: Annotated[int, doc("messages one mailbox may submit per day (UTC)")] = 200
    mailbox_recipients_per_hour: Annotated[int, doc("recipients one mailbox may submit to per clock hour")] = 300
    mailbox_recipients_per_day: Annotated[int, doc("recipients one mailbox may submit to per day (UTC)")] = 1000
    domain_messages_per_hour: Annotated[int, doc("messages all mailboxes of one domain may submit per clock hour")] = 2000
    domain_messages_per_day: Annotated[int, doc("messages all mailboxes of one domain may submit per day (UTC)")] = 10000
    domain_recipients_per_hour: Annotated[int, doc("recipients all mailboxes of one domain may submit to per clock hour")] = 6000
    domain_recipients_per_day: Annotated[int, doc("recipients all mailboxes of one domain may submit to per day (UTC)")] = 30000
    block_after: Annotated[int, doc("submissions refused for a limit within a day after which the mailbox is blocked from sending until an administrator lifts it (postbus user unblock); 0 never blocks")] = 20
    notify: Annotated[list[str], doc("the operators' addresses, told when a mailbox passes a sending limit or is blocked (postmaster@ the mailbox's domain is told too)")] = []


class Webmail(_Section):
    session_idle_timeout: Annotated[str | int, doc("a webmail session unused for this long is logged out")] = "30m"
    page_size: Annotated[int, doc("messages per page of the webmail's message list (10-200)")] = 50
class Log(_Section):
    format: Annotated[str, doc('"text" (one line per event) or "json" (one JSON object per line; docs/logging.md)')] = "text"


class Settings(_Section):
    hostname: Annotated[str, doc("this node's name: banners, HELO, certificate")] = "localhost"
    data_dir: Annotated[str, doc("embedded store and generated files")] = "var"
    node_name: Annotated[str, doc("identifies this node among several; defaults to hostname")] = ""
    log_level: Annotated[str, doc("DEBUG, INFO, WARNING or ERROR")] = "INFO"
    storage: Annotated[Storage, doc("where state lives")] = msgspec.field(default_factory=Storage)
    listen: Annotated[Listen, doc('listen addresses; "" disables one')] = msgspec.field(default_factory=Listen)
    server: Annotated[Server, doc("processes and privileges")] = msgspec.field(default_factory=Server)
    tls: Annotated[Tls, doc("certificate")] = msgspec.field(default_factory=Tls)
    limits: Annotated[Limits, doc("limits")] = msgspec.field(default_factory=Limits)
    relay: Annotated[Relay, doc("outbound smarthost")] = msgspec.field(default_factory=Relay)
    queue: Annotated[Queue, doc("outbound queue")] = msgspec.field(default_factory=Queue)
    delivery: Annotated[LocalDelivery, doc("local delivery")] = msgspec.field(default_factory=LocalDelivery)
    dns: Annotated[Dns, doc("DNS resolution")] = msgspec.field(default_factory=Dns)
    security: Annotated[Security, doc("abuse resistance")] = msgspec.field(default_factory=Security)
    webmail: Annotated[Webmail, doc("the webmail at https://HOST/webmail")] = msgspec.field(default_factory=Webmail)
    log: Annotated[Log, doc("log output")] = msgspec.field(default_factory=Log)
    srs: Annotated[Srs, doc("sender rewriting for forwarded mail")] = msgspec.field(default_factory=Srs)

    # Derived values, filled by `validate`.
    @property
    def max_message_size(self) -> int:
        return parse_size(self.limits.max_message_size, "limits.max_message_size")

    @property
    def default_quota(self) -> int:
        return parse_size(self.limits.default_quota, "limits.default_quota")

    @property
    def node(self) -> str:
        return self.node_name or self.hostname

    @property
    def workers(self) -> int:
        """The number of worker processes: `server.workers`, "auto" being the core count."""
        value = self.server.workers
        if value == "auto":
            return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                       else os.cpu_count() or 1)
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and value.isdigit():
            number = int(value)
        else:
            raise ConfigError(f'server.workers: {value!r} is not "auto" or a number')
        if not 1 <= number <= MAX_WORKERS:
            raise ConfigError(f"server.workers: {number} is not between 1 and {MAX_WORKERS}")
        return number

    def listen_address(self, name: str) -> tuple[str, int] | None:
        return parse_listen(getattr(self.listen, name), f"listen.{name}")

    def duration(self, section: str, key: str) -> float:
        return parse_duration(getattr(getattr(self, section), key), f"{section}.{key}")

    def data_path(self) -> Path:
        return Path(self.data_dir)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


# What claims and leases in the store name (postbus.node): a worker's name is the
# node's + "/wN", and the POP3 lease adds "#MARK" and a space before its expiry.
_NODE_NAME_BAD = re.compile(r"[\s#]|/w\d+$")


def _validate(s: Settings) -> None:
    s.workers  # noqa: B018
    if _NODE_NAME_BAD.search(s.node):
        key = "node_name" if s.node_name else "hostname (the node's name without node_name)"
        raise ConfigError(f"{key}: {s.node!r} may not contain spaces or '#', nor end in /w and a number"
                          " (the names of worker processes)")
    s.max_message_size  # noqa: B018 - each access validates
    s.default_quota  # noqa: B018
    for name in Listen.__struct_fields__:
        s.listen_address(name)
    metrics_at = s.listen_address("metrics")
    if metrics_at is not None and not _is_loopback(metrics_at[0]):
        raise ConfigError(f"listen.metrics: {s.listen.metrics!r} is not a loopback address"
                          " (the metrics listener asks for no token)")
    for section, key in (("limits", "idle_timeout"), ("limits", "command_timeout"),
                         ("limits", "handshake_timeout"), ("limits", "line_timeout"),
                         ("limits", "data_timeout"),
                         ("queue", "lifetime"), ("queue", "delay_notice"), ("queue", "first_retry"),
                         ("queue", "max_retry_interval"), ("dns", "timeout"),
                         ("security", "auth_failure_delay"), ("security", "auth_failure_max_delay"),
                         ("security", "ban_window"), ("security", "ban_duration"),
                         ("security", "account_delay"), ("security", "ban_refresh"),
                         ("webmail", "session_idle_timeout"),
                         ("srs", "max_age"), ("tls", "watch_interval"),
                         ("tls", "acme_renew_before"), ("tls", "acme_check_interval"),
                         ("server", "worker_timeout")):
        s.duration(section, key)
    if s.storage.backend not in ("sqlite", "postgresql"):
        raise ConfigError(f'storage.backend: {s.storage.backend!r} is not "sqlite" or "postgresql"')
    if s.storage.backend == "postgresql" and not s.storage.url.startswith(("postgresql://", "postgres://")):
        raise ConfigError("storage.url: a postgresql:// URL is needed when storage.backend is postgresql")
    if s.relay.tls not in ("starttls", "implicit", "none"):
        raise ConfigError(f'relay.tls: {s.relay.tls!r} is not "starttls", "implicit" or "none"')
    if not set(s.delivery.recipient_delimiter) <= RECIPIENT_DELIMITER_CHARS:
        raise ConfigError("delivery.recipient_delimiter: use only these characters: "
                          + "".join(sorted(RECIPIENT_DELIMITER_CHARS)))
    if not 10 <= s.webmail.page_size <= 200:
        raise ConfigError("webmail.page_size: give a number from 10 to 200")
    if s.log.format not in ("text", "json"):
        raise ConfigError(f'log.format: {s.log.format!r} is not "text" or "json"')
    for key in ("ban_after", "account_slow_after", "block_after", "mailbox_messages_per_hour",
                "mailbox_messages_per_day", "mailbox_recipients_per_hour",
                "mailbox_recipients_per_day", "domain_messages_per_hour",
                "domain_messages_per_day", "domain_recipients_per_hour",
                "domain_recipients_per_day"):
        if getattr(s.security, key) < 0:
            raise ConfigError(f"security.{key}: cannot be negative (0 switches it off)")
    for network in s.security.trusted_networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ConfigError(f"security.trusted_networks: {network!r} is not a network"
                              ' (write e.g. "192.0.2.0/24" or "2001:db8::/48")') from None
    if bool(s.tls.cert) != bool(s.tls.key):
        raise ConfigError("tls: set both cert and key, or neither")
    if s.tls.acme and s.tls.cert:
        raise ConfigError("tls: acme = true gets the certificate itself; leave cert and key empty")
    if s.tls.acme_challenge not in ("auto", "http-01", "tls-alpn-01"):
        raise ConfigError(f'tls.acme_challenge: {s.tls.acme_challenge!r} is not "auto", "http-01" or "tls-alpn-01"')
    for name in s.tls.acme_names:
        if not re.fullmatch(r"[A-Za-z0-9.-]+", name):
            raise ConfigError(f"tls.acme_names: {name!r} is not a host name")
    if not re.fullmatch(r"[A-Za-z0-9.-]+", s.hostname):
        raise ConfigError(f"hostname: {s.hostname!r} is not a host name")
    if s.srs.domain and not re.fullmatch(r"[A-Za-z0-9.-]+", s.srs.domain):
        raise ConfigError(f"srs.domain: {s.srs.domain!r} is not a domain name")


def _msgspec_message(exc: msgspec.ValidationError) -> str:
    text = str(exc)
    m = re.search(r"- at `\$\.?(.*)`$", text)
    where = m.group(1) if m else ""
    what = text[: m.start()].strip() if m else text
    u = re.search(r"unknown field `([^`]+)`", what)
    if u:
        key = f"{where}.{u.group(1)}" if where else u.group(1)
        return f"{key}: unknown key"
    return f"{where or 'config'}: {what[0].lower() + what[1:] if what else 'invalid'}"


def from_dict(data: dict[str, Any]) -> Settings:
    try:
        settings = msgspec.convert(data, Settings)
    except msgspec.ValidationError as exc:
        raise ConfigError(_msgspec_message(exc)) from None
    _validate(settings)
    return settings


CONFIG_ENV = "POSTBUS_CONFIG"
DEFAULT_CONFIG_NAME = "postbus.toml"


def find(option: str | None, environ: Mapping[str, str] | None = None,
         cwd: Path | None = None) -> Path | None:
    """The configuration file in use: `--config`, else $POSTBUS_CONFIG, else ./postbus.toml.

    An explicit choice (the option or the variable) is returned even when the
    file is missing, so that `load` names it in its error; ./postbus.toml only
    when it exists. None when there is no configuration at all.
    """
    env = os.environ if environ is None else environ
    if option:
        return Path(option)
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV])
    local = (cwd or Path.cwd()) / DEFAULT_CONFIG_NAME
    return local if local.is_file() else None


def load(path: str | Path | None) -> Settings:
    """The settings from `path`, or the defaults when path is None."""
    if path is None:
        return from_dict({})
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration ({exc.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    settings = from_dict(data)
    _resolve_paths(settings, Path(path).resolve().parent)
    return settings


def defaults_for(path: str | Path | None) -> Settings:
    """The defaults as a file at `path` would resolve them (relative paths from its directory)."""
    settings = from_dict({})
    if path is not None:
        _resolve_paths(settings, Path(path).resolve().parent)
    return settings


def _resolve_paths(settings: Settings, base: Path) -> None:
    """Relative paths in a file are relative to the file's directory, not the working directory."""
    if not Path(settings.data_dir).is_absolute():
        settings.data_dir = str(base / settings.data_dir)
    for attr in ("cert", "key", "acme_ca_bundle"):
        value = getattr(settings.tls, attr)
        if value and not Path(value).is_absolute():
            setattr(settings.tls, attr, str(base / value))


SECRET_KEYS = frozenset({"relay.password"})
CHANGED = "[changed]"


def describe_defaults() -> str:
    """The documented defaults as a TOML file."""
    return describe(from_dict({}))


def describe(settings: Settings, defaults: Settings | None = None) -> str:
    """Every key with its effective value and meaning, as a TOML file.

    A key whose value differs from `defaults` carries "[changed]" and the
    default at the start of its comment. Secrets (relay.password, the password
    in storage.url) are printed as "********".
    """
    defaults = defaults if defaults is not None else from_dict({})
    lines: list[str] = []

    def emit(struct_type: Any, value: Any, default: Any, prefix: str) -> None:
        info: Any = msgspec.inspect.type_info(struct_type)
        nested = []
        for f in info.fields:
            t, text = f.type, ""
            if isinstance(t, msgspec.inspect.Metadata):
                text = (t.extra_json_schema or {}).get("description", "")
                t = t.type
            current, original = getattr(value, f.name), getattr(default, f.name)
            if isinstance(t, msgspec.inspect.StructType):
                nested.append((f.name, t.cls, current, original, text))
                continue
            key = prefix + f.name
            comment = text
            if current != original:
                comment = f"{CHANGED} default {_toml_value(_shown(key, original))}; {text}"
            lines.append(f"{f.name} = {_toml_value(_shown(key, current))}" + (f"  # {comment}" if comment else ""))
        for name, cls, current, original, text in nested:
            lines.append("")
            lines.append(f"[{prefix}{name}]" + (f"  # {text}" if text else ""))
            emit(cls, current, original, f"{prefix}{name}.")

    emit(Settings, settings, defaults, "")
    return "\n".join(lines) + "\n"


def _shown(key: str, value: Any) -> Any:
    if key in SECRET_KEYS and value:
        return "********"
    if key == "storage.url" and isinstance(value, str):
        return re.sub(r"^([a-z]+://[^:/@]*):[^@/]*@", r"\1:********@", value)
    return value


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k!r} = {_toml_value(x)}" for k, x in v.items()) + "}"
    return repr(v)
