"""Prints each locked runtime dependency beside its latest release on PyPI.

A report for `make audit`, never a failure: the runtime dependencies are the
closure of Postbus's own requirements as installed in the virtual environment
that runs this script, with the versions constraints.txt locks. The latest
release is read from PyPI's JSON API; where PyPI cannot be reached the line
says so.
"""

from __future__ import annotations

import json
import re
import sys
import urllib.request
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import InvalidVersion, Version

TIMEOUT = 10.0


def runtime_closure(root: str = "postbus") -> list[str]:
    """Distribution names the installed ``root`` needs at run time, extras excluded."""
    seen: set[str] = set()
    todo = [root]
    while todo:
        name = todo.pop()
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for text in requires:
            req = Requirement(text)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            key = re.sub(r"[-_.]+", "-", req.name).lower()
            if key not in seen:
                seen.add(key)
                todo.append(req.name)
    return sorted(seen)


def locked(constraints: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in constraints.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[re.sub(r"[-_.]+", "-", name.strip()).lower()] = version.strip()
    return pins


def latest(name: str) -> str | None:
    try:
        with urllib.request.urlopen(f"https://pypi.org/pypi/{name}/json", timeout=TIMEOUT) as r:
            return str(json.load(r)["info"]["version"])
    except (OSError, ValueError, KeyError):
        return None


def main() -> int:
    pins = locked(Path(sys.argv[1] if len(sys.argv) > 1 else "constraints.txt"))
    behind = 0
    print("runtime dependency            locked        latest")
    for name in runtime_closure():
        pin = pins.get(name, "(not locked)")
        newest = latest(name)
        mark = ""
        if newest is None:
            newest = "(PyPI not reachable)"
        else:
            try:
                if Version(newest) > Version(pin):
                    mark, behind = "  behind", behind + 1
            except InvalidVersion:
                pass
        print(f"{name:29} {pin:13} {newest}{mark}")
    print(f"{behind} locked runtime dependencies are behind their latest release")
    return 0


if __name__ == "__main__":
    sys.exit(main())
