"""contrib/postbus.service passes `systemd-analyze verify`, and says what the
server does: Type=notify (READY, STOPPING, watchdog; see test_sdnotify.py),
hardening, the data directory writable."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.tools import require_tool

UNIT = Path(__file__).resolve().parents[3] / "contrib" / "postbus.service"
INSTALLED = "/usr/local/bin/postbus"


def _service() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text())
    return parser["Service"]


def test_systemd_analyze_verify_passes(tmp_path: Path) -> None:
    analyze = require_tool("systemd-analyze")
    # verify checks that ExecStart exists: point it at this installation's postbus.
    postbus = shutil.which("postbus", path=str(Path(sys.executable).parent))
    assert postbus is not None
    text = UNIT.read_text()
    assert f"ExecStart={INSTALLED} " in text
    unit = tmp_path / "postbus.service"
    unit.write_text(text.replace(f"ExecStart={INSTALLED} ", f"ExecStart={postbus} "))
    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "postbus.service" not in result.stderr, result.stderr  # no warning about our unit


def test_the_unit_is_of_type_notify_and_hardened() -> None:
    service = _service()
    assert service["Type"] == "notify"
    assert int(service["WatchdogSec"]) > 0
    for key, value in {"NoNewPrivileges": "true", "ProtectSystem": "strict", "PrivateTmp": "true",
                       "ReadWritePaths": "/var/lib/postbus"}.items():
        assert service[key] == value, key
