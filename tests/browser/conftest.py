"""Browser tests: Debian's Chromium driven by Playwright (the pip package's
driver, no browser download), against a real `postbus serve`.

Chromium is launched from `CHROMIUM` through `executable_path`, headless, with
no sandbox (CI runs as root), no GPU and no background networking, so the only
requests it makes are the pages' own. `.ci/run` installs Debian's `chromium`
and axe-core from npm (into tests/browser/node). In CI a missing browser or
axe-core fails the test; elsewhere it skips. Screenshots of the main screens go
to tests/browser/artifacts/ (git-ignored), kept after the run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.mailstore import PASSWORD, setup
from tests.support.server import ServerProcess, running_server, write_config

CHROMIUM = os.environ.get("POSTBUS_CHROMIUM", "/usr/bin/chromium")
AXE = Path(__file__).parent / "node" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(__file__).parent / "artifacts"
ALICE = "alice@example.test"
BOB = "bob@example.test"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--no-first-run",
    "--disable-features=Translate,MediaRouter,OptimizationHints,AutofillServerCommunication",
    "--metrics-recording-only", "--lang=en-US",
]


def missing(what: str) -> None:
    message = f"{what} (.ci/run installs it)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    directory = tmp_path_factory.mktemp("webmail")
    config = write_config(directory)
    setup(config, ["example.test"], [ALICE, BOB])
    with running_server(config) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        missing(f"Chromium is not installed at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Watch:
    """What a page did that it must not: requests to other hosts, dialogs, script errors."""

    origin: str
    foreign: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    accept_dialogs: bool = False


@dataclass
class Browsing:
    page: Any
    context: Any
    base: str
    watch: Watch

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def login(self, user: str = ALICE, password: str = PASSWORD) -> None:
        self.page.goto(self.base + "/webmail/login")
        self.page.get_by_label("Email address").fill(user)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Log in").click()
        self.page.wait_for_url("**/webmail/mail?folder=INBOX")


def open_context(browser: Any, server: ServerProcess, *, bypass_csp: bool = False) -> Browsing:
    base = f"https://127.0.0.1:{server.port('https')}"
    context = browser.new_context(ignore_https_errors=True, bypass_csp=bypass_csp,
                                  locale="en-US", viewport={"width": 1200, "height": 800})
    watch = Watch(urlsplit(base).netloc)

    def route(route: Any) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "about") or parts.netloc == watch.origin:
            route.continue_()
        else:
            watch.foreign.append(url)
            route.abort()

    context.route("**/*", route)
    page = context.new_page()

    def dialog(d: Any) -> None:
        watch.dialogs.append(f"{d.type}: {d.message}")
        if watch.accept_dialogs and d.type == "confirm":
            d.accept()
        else:
            d.dismiss()

    page.on("dialog", dialog)
    page.on("pageerror", lambda e: watch.errors.append(str(e)))
    page.on("console", lambda m: watch.console.append(f"{m.type}: {m.text}"))
    return Browsing(page, context, base, watch)


@pytest.fixture
def browsing(browser: Any, server: ServerProcess) -> Iterator[Browsing]:
    b = open_context(browser, server)
    try:
        yield b
    finally:
        b.context.close()
