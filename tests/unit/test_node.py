"""`postbus.node`: which holders of this node are gone, and process marks."""

from __future__ import annotations

import os
import subprocess
import sys

from postbus.node import NodeProcess, mark_alive, process_mark, worker_node


def test_names() -> None:
    assert worker_node("mx1", 3) == "mx1/w3"
    assert NodeProcess("mx1").name == "mx1"
    assert NodeProcess("mx1", 1, 2).name == "mx1/w1"


def test_gone_while_running_workers() -> None:
    process = NodeProcess("mx1", 0, 2)
    assert process.gone("mx1")  # the single process of before
    assert process.gone("mx1/w2") and process.gone("mx1/w17")  # slots beyond the count
    assert not process.gone("mx1/w0") and not process.gone("mx1/w1")
    assert not process.gone("mx2") and not process.gone("mx2/w5") and not process.gone("")
    assert not process.gone("mx1/w") and not process.gone("mx1/w01") and not process.gone("mx1/wx")
    assert not process.gone("mx1/w1/w9")  # not a name of ours
    assert process.ours("mx1/w1") and process.ours("mx1") and not process.ours("mx10/w1")


def test_gone_while_running_as_one_process() -> None:
    process = NodeProcess("mx1")
    assert process.gone("mx1/w0") and process.gone("mx1/w1")
    assert not process.gone("mx1") and not process.gone("mx2/w0")


def test_process_marks() -> None:
    mine = process_mark()
    assert mine.startswith(f"{os.getpid()}.")
    assert mark_alive(mine)
    assert not mark_alive(f"{os.getpid()}.1")  # the pid reused by another process
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # reaped: its pid is free
    assert not mark_alive(f"{child.pid}.1") and not mark_alive(str(child.pid))
    for unreadable in ("", "x", "-1", "0", "abc.def"):
        assert mark_alive(unreadable)
