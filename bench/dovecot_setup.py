"""Debian's Dovecot as the yardstick of the IMAP and POP3 benchmarks.

Not a benchmark: `imap_load.py`, `pop3_bench.py` and `imap_idle_memory.py`
import it. It writes a Maildir per user and a passwd-file (every user with one
plain password; the mail belongs to `nobody`), a configuration that serves one
protocol on loopback with implicit TLS only, and starts `dovecot -F`, waiting
until its port answers. It needs root (Dovecot drops to `nobody`).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

START_TIMEOUT = 20.0  # seconds for Dovecot's port to answer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fill(base: Path, boxes: Mapping[str, Iterable[bytes]], password: str, *,
         seen: Callable[[int], bool] = lambda n: False, quiet: bool = True) -> None:
    """One Maildir per user under `base/home`, the messages in `cur/` in order
    and `base/passwd`. (Dovecot takes a Maildir message's arrival time from the
    file's mtime, not its name.)"""
    nobody = pwd.getpwnam("nobody")
    stamp = int(time.time())
    for user, messages in boxes.items():
        maildir = base / "home" / user / "Maildir"
        for sub in ("cur", "new", "tmp"):
            (maildir / sub).mkdir(parents=True, exist_ok=True)
        count = 0
        for n, raw in enumerate(messages):
            lf = raw.replace(b"\r\n", b"\n")
            info = ":2,S" if seen(n) else ":2,"
            (maildir / "cur" / f"{stamp + n}.M{n}P1.bench,S={len(lf)},W={len(raw)}{info}").write_bytes(lf)
            count += 1
        if not quiet:
            print(f"  dovecot: {user} {count} messages", flush=True)
    for path in [base / "home", *(base / "home").rglob("*")]:
        os.chown(path, nobody.pw_uid, nobody.pw_gid)
    (base / "passwd").write_text("".join(f"{u}:{{PLAIN}}{password}\n" for u in boxes))


def config(base: Path, protocol: str, port: int, cert: Path, key: Path, extra: str = "") -> str:
    """Dovecot serving `protocol` ("imap" or "pop3") with implicit TLS on `port`
    only, users from `base/passwd`, mail in `base/home/USER/Maildir`; `extra` is
    appended (settings after the sections are fine in Dovecot's format)."""
    nobody = pwd.getpwnam("nobody")
    return f"""
base_dir = {base}/run
state_dir = {base}/state
instance_name = postbus-bench-{protocol}-{port}
log_path = {base}/dovecot.log
protocols = {protocol}
listen = 127.0.0.1
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/passwd
}}
userdb {{
  driver = static
  args = uid={nobody.pw_uid} gid={nobody.pw_gid} home={base}/home/%u
}}
mail_location = maildir:~/Maildir
service {protocol}-login {{
  inet_listener {protocol} {{
    port = 0
  }}
  inet_listener {protocol}s {{
    port = {port}
    ssl = yes
  }}
}}
{extra}"""


def start(base: Path, conf_text: str, port: int) -> subprocess.Popen[bytes]:
    """Writes `base/dovecot.conf` and starts Dovecot in the foreground; returns
    once `port` accepts, or exits with Dovecot's error."""
    dovecot = shutil.which("dovecot") or "/usr/sbin/dovecot"
    conf = base / "dovecot.conf"
    conf.write_text(conf_text)
    os.chmod(base.parent, 0o755)  # a temporary directory: Dovecot's users must reach in
    proc = subprocess.Popen([dovecot, "-c", str(conf), "-F"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("dovecot failed: " + (proc.stderr.read() if proc.stderr else b"")
                                 .decode(errors="replace")) from None
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("dovecot did not start")
