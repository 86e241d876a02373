"""The README describes the command line as it is, and its links work in a clone (issue 10 item 16)."""

from __future__ import annotations

import re
from pathlib import Path

import click

from postbus.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _synopsis() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("## Administration", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].strip() for line in block.strip().splitlines()]


def test_readme_synopsis_matches_the_cli() -> None:
    listed: set[str] = set()
    for line in _synopsis():
        words = line.removeprefix("postbus [--config FILE] ").split()
        command = main.commands[words[0]]
        listed.add(words[0])
        options = set(re.findall(r"--[a-z-]+", line))
        if isinstance(command, click.Group):
            known = {"--config"}
            for name in words[1].split("|"):
                sub = command.commands[name]
                listed.add(f"{words[0]} {name}")
                known |= {o for p in sub.params for o in getattr(p, "opts", [])}
            assert options <= known, (line, options - known)  # each option exists on one of them
        else:
            known = {o for p in command.params for o in getattr(p, "opts", [])}
            assert options <= known | {"--config"}, (line, options - known)
    every = set(main.commands)
    for name, command in main.commands.items():
        if isinstance(command, click.Group):
            every |= {f"{name} {sub}" for sub in command.commands}
    assert every == listed


def test_readme_and_docs_links_stay_inside_the_repository() -> None:
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "bench" / "README.md"]:
        text = doc.read_text(encoding="utf-8")
        assert "../shared" not in text, doc
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
            if re.match(r"[a-z]+://", target):
                continue
            assert (doc.parent / target).resolve().is_relative_to(ROOT), (doc, target)
            assert (doc.parent / target).exists(), (doc, target)


def test_bench_readme_names_every_script() -> None:
    text = (ROOT / "bench" / "README.md").read_text(encoding="utf-8")
    for script in sorted((ROOT / "bench").glob("*.py")):
        assert f"`{script.name}`" in text, script.name
