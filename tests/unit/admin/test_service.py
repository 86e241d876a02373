"""The administration service on a real embedded store: permissions in one
place, an audit entry for every change, secrets shown once, TOTP logins,
suspension, and the traps of mail panels (text is data, never a template or
a path)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path

import pytest

from postbus.admin import (
    CLI,
    NOBODY,
    Actor,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    Throttled,
    Unauthenticated,
    limits,
    totp,
)
from postbus.admin.service import generate_password
from postbus.app import App
from postbus.config import from_dict
from postbus.delivery.rules import Vacation
from postbus.security.throttle import Banned

CLOCK = [1_800_000_000.0]


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    app = App(from_dict({"data_dir": str(tmp_path), "hostname": "mail.example.test"}))
    await app.open()
    app.admin.clock = lambda: CLOCK[0]
    await app.admin.add_domain(CLI, "a.test")
    await app.admin.add_domain(CLI, "b.test")
    yield app
    await app.close()


def admin_of(*domains: str, name: str = "web") -> Actor:
    return Actor(name, False, frozenset(domains), "198.51.100.7")


async def test_every_change_is_audited_with_who_when_and_where(app: App) -> None:
    web = admin_of("a.test")
    made = await app.admin.create_mailbox(web, "Alice@A.test")
    assert made.password is not None and made.mailbox.address == "alice@a.test"
    await app.admin.update_mailbox(web, "alice@a.test", quota=1 << 20, enabled=False)
    await app.admin.set_password(web, "alice@a.test", generate_password())
    await app.admin.add_alias(web, "@a.test", ["alice@a.test"])  # the catch-all
    await app.admin.set_forward(web, "alice@a.test", ["x@elsewhere.test"], keep_copy=True)
    await app.admin.set_vacation(web, "alice@a.test", Vacation("away", "back soon"))
    await app.admin.remove_alias(web, "@a.test")
    await app.admin.delete_mailbox(web, "alice@a.test")
    entries = await app.admin.list_audit(web)
    assert [e.action for e in entries] == [
        "mailbox.delete", "alias.remove", "vacation.set", "forward.set", "alias.add",
        "mailbox.password", "mailbox.update", "mailbox.create", "domain.add"]
    assert (entries[-1].actor, entries[-1].remote) == ("cli", "local")
    assert {(e.actor, e.remote, e.domain, e.at) for e in entries[:-1]} == {
        ("web", "198.51.100.7", "a.test", CLOCK[0])}
    assert entries[-3].detail == "quota 1048576, disabled"
    # no secret is ever written to the log
    assert entries[-2].detail == "quota 1073741824, generated password"
    assert made.password not in str(await app.store.list_audit(domains=None))
    # the rules of a removed mailbox go with it
    assert await app.admin.rules.forward("alice@a.test") is None


async def test_a_domain_administrator_sees_and_touches_only_their_domains(app: App) -> None:
    await app.admin.create_mailbox(CLI, "bob@b.test")
    web = admin_of("a.test")
    assert [d.name for d in await app.admin.list_domains(web)] == ["a.test"]
    for call in (app.admin.get_mailbox(web, "bob@b.test"),
                 app.admin.list_mailboxes(web, "b.test"),
                 app.admin.set_forward(web, "bob@b.test", ["x@a.test"]),
                 app.admin.add_alias(web, "info@b.test", ["x@a.test"]),
                 app.admin.get_domain(web, "b.test")):
        with pytest.raises(NotFound):
            await call
    for op in (app.admin.add_domain(web, "c.test"), app.admin.remove_domain(web, "a.test"),
               app.admin.suspend_domain(web, "a.test", True), app.admin.list_admins(web),
               app.admin.add_admin(web, "web", generate_password(), operator=True),
               app.admin.create_token(web, "other")):
        with pytest.raises(Forbidden):
            await op
    with pytest.raises(Unauthenticated):
        await app.admin.list_domains(NOBODY)
    # b.test's entries and service-wide ones are hidden
    assert {(e.action, e.domain) for e in await app.admin.list_audit(web)} == {
        ("domain.add", "a.test")}


async def test_refusals_are_the_services_own(app: App) -> None:
    await app.admin.create_mailbox(CLI, "alice@a.test")
    with pytest.raises(Conflict):
        await app.admin.create_mailbox(CLI, "alice@a.test")
    with pytest.raises(Invalid, match="user name"):
        await app.admin.create_mailbox(CLI, "carol@a.test", "carol123!")
    with pytest.raises(Invalid):
        await app.admin.create_mailbox(CLI, "not an address")
    with pytest.raises(NotFound):
        await app.admin.get_mailbox(CLI, "ghost@a.test")
    with pytest.raises(Invalid):
        await app.admin.update_mailbox(CLI, "alice@a.test", quota=-1)


async def test_login_with_totp_and_replay(app: App) -> None:
    password = generate_password()
    await app.admin.add_admin(CLI, "web", password, operator=False, domains=["a.test"])
    actor = await app.admin.login("web", password, None, "192.0.2.9")
    assert (actor.name, actor.operator, actor.domains) == ("web", False, frozenset({"a.test"}))
    enrolment = await app.admin.enrol_totp(CLI, "web")
    assert enrolment.uri.startswith("otpauth://totp/mail.example.test")
    with pytest.raises(Unauthenticated):
        await app.admin.login("web", password, None, "192.0.2.9")
    key = __import__("base64").b32decode(enrolment.secret)
    code = totp.hotp(key, totp.step_at(CLOCK[0]))
    assert (await app.admin.login("web", password, code, "192.0.2.9")).name == "web"
    with pytest.raises(Unauthenticated):  # the same code twice
        await app.admin.login("web", password, code, "192.0.2.9")
    with pytest.raises(Unauthenticated):
        await app.admin.login("web", "wrong" + password, totp.hotp(key, totp.step_at(CLOCK[0]) + 1),
                              "192.0.2.9")
    assert [a.totp for a in await app.admin.list_admins(CLI)] == [True]


async def test_mailbox_credentials_are_not_administrator_credentials(app: App) -> None:
    password = generate_password()
    await app.admin.create_mailbox(CLI, "alice@a.test", password)
    with pytest.raises(Unauthenticated):
        await app.admin.login("alice@a.test", password, None, "192.0.2.9")
    assert (await app.admin.actor_for_token(password, "192.0.2.9")) == NOBODY
    # and the other way round: an administrator is no mailbox, even under an address-like name
    with pytest.raises(Invalid):
        await app.admin.add_admin(CLI, "alice@a.test", password, operator=True)
    await app.admin.add_admin(CLI, "boss", password, operator=True)
    assert await app.accounts.authenticate("boss", password) is None


async def test_suspended_domains_do_not_log_in(app: App) -> None:
    password = generate_password()
    await app.admin.create_mailbox(CLI, "alice@a.test", password)
    assert await app.accounts.authenticate("alice@a.test", password) is not None
    assert (await app.admin.suspend_domain(CLI, "a.test", True)).suspended
    assert await app.accounts.authenticate("alice@a.test", password) is None
    assert [(d.name, d.suspended) for d in await app.admin.list_domains(CLI)] == [
        ("a.test", True), ("b.test", False)]
    await app.admin.suspend_domain(CLI, "a.test", False)
    assert await app.accounts.authenticate("alice@a.test", password) is not None


async def test_tokens_are_shown_once_stored_hashed_and_revocable(app: App) -> None:
    password = generate_password()
    await app.admin.add_admin(CLI, "web", password, operator=False, domains=["a.test"])
    web = admin_of("a.test")
    made = await app.admin.create_token(web, "web", "deploy",  # their own
                                        current_password=password)
    stored = await app.store.list_api_tokens("web")
    assert [t.label for t in stored] == ["deploy"]
    assert made.secret not in repr(stored) and made.secret.startswith("pb_")
    actor = await app.admin.actor_for_token(made.secret, "203.0.113.1")
    assert (actor.name, actor.domains, actor.remote) == ("web", frozenset({"a.test"}),
                                                         "203.0.113.1")
    await app.admin.revoke_token(web, "web", made.token.id)
    assert await app.admin.actor_for_token(made.secret, "x") == NOBODY
    for junk in ("", "pb_", "pb_" + "x" * 10_000, "\udc80"):
        assert await app.admin.actor_for_token(junk, "x") == NOBODY


@pytest.mark.parametrize("text", ["{{ 7*7 }}", "{% for x in y %}", "${7*7}", "<%= 7*7 %>",
                                  "$(id)", "`id`"])
async def test_vacation_text_is_stored_and_sent_as_data(app: App, text: str) -> None:
    """CVE-2025-53909 was a vacation body rendered as a template: here it is text."""
    await app.admin.create_mailbox(CLI, "alice@a.test")
    await app.admin.set_vacation(CLI, "alice@a.test", Vacation(f"away {text}", f"body {text}"))
    stored = await app.admin.get_vacation(CLI, "alice@a.test")
    assert stored is not None and (stored.subject, stored.body) == (f"away {text}", f"body {text}")


@pytest.mark.parametrize("name", ["../../etc", "a.test/../../x", "a;rm -rf", "$(id).test",
                                  "a test", "/abs.test"])
async def test_domain_names_that_could_be_paths_or_shell_words_are_refused(app: App,
                                                                          name: str) -> None:
    with pytest.raises(Invalid):
        await app.admin.add_domain(CLI, name)
    with pytest.raises(Invalid):
        await app.admin.create_mailbox(CLI, f"x@{name}")


async def test_what_administrators_enter_never_names_a_file(app: App, tmp_path: Path) -> None:
    """"/" is allowed in a local part (RFC 5322 atext): it stays a name in the store."""
    before = sorted(p.name for p in tmp_path.rglob("*"))
    await app.admin.create_mailbox(CLI, "/tmp-evil@a.test")
    await app.admin.set_vacation(CLI, "/tmp-evil@a.test", Vacation("x", "y"))
    after = sorted(p.name for p in tmp_path.rglob("*"))
    assert not any("evil" in name for name in after)
    assert set(after) - set(before) <= {"postbus.sqlite3-wal", "postbus.sqlite3-shm"}


def test_the_administration_code_has_no_shell_or_file_access() -> None:
    import ast

    import postbus.admin
    import postbus.web.api

    banned = {"subprocess", "os", "shutil", "pathlib", "tempfile", "jinja2", "string"}
    for package in (postbus.admin, postbus.web.api):
        for path in Path(package.__path__[0]).glob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                         [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                assert not {n.split(".")[0] for n in names} & banned, (path, names)
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                    assert node.func.id not in ("open", "eval", "exec"), path


async def test_other_processes_see_a_suspension_within_the_ttl(app: App) -> None:
    from postbus.accounts.service import Accounts

    password = generate_password()
    await app.admin.create_mailbox(CLI, "alice@a.test", password)
    other = Accounts(app.store, default_quota=0, executor=app.executor)  # another worker
    try:
        assert await other.authenticate("alice@a.test", password) is not None
        await app.admin.suspend_domain(CLI, "a.test", True)
        assert await app.accounts.authenticate("alice@a.test", password) is None  # at once here
        assert await other.authenticate("alice@a.test", password) is not None  # cached
        other.forget_suspensions()  # what the expiry of SUSPENSIONS_TTL does
        assert await other.authenticate("alice@a.test", password) is None
    finally:
        other.close()


async def test_administrators_change_their_own_password_only(app: App) -> None:
    old, new = generate_password(), generate_password()
    await app.admin.add_admin(CLI, "web", old, operator=False, domains=["a.test"])
    await app.admin.add_admin(CLI, "other", old, operator=False, domains=["b.test"])
    web = admin_of("a.test")
    with pytest.raises(Forbidden):
        await app.admin.set_admin_password(web, "other", new, current_password=old)
    with pytest.raises(Invalid, match="user name"):
        await app.admin.set_admin_password(web, "web", "web12345!", current_password=old)
    await app.admin.set_admin_password(web, "web", new, current_password=old)
    assert (await app.admin.login("web", new, None, "x")).name == "web"
    with pytest.raises(Unauthenticated):
        await app.admin.login("web", old, None, "x")
    assert (await app.store.list_audit(domains=None, limit=1))[0].action == "admin.password"


async def test_no_change_without_its_audit_entry(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    """The entry is written in the change's own transaction: when it cannot be
    written, the mailbox, its password, its forwarding and the domain stay as they were."""
    from postbus.store.sqlite import admin as sqlite_admin

    password = generate_password()
    await app.admin.create_mailbox(CLI, "alice@a.test", password)
    await app.admin.add_admin(CLI, "web", generate_password(), operator=False, domains=["a.test"])
    before = len(await app.admin.list_audit(CLI))

    def broken(*args: object) -> int:
        raise RuntimeError("the audit log is full")

    monkeypatch.setattr(sqlite_admin, "append_audit", broken)
    attempts = [
        lambda: app.admin.create_mailbox(CLI, "bob@a.test"),
        lambda: app.admin.delete_mailbox(CLI, "alice@a.test"),
        lambda: app.admin.set_password(CLI, "alice@a.test"),
        lambda: app.admin.set_forward(CLI, "alice@a.test", ["far@away.test"]),
        lambda: app.admin.add_domain(CLI, "c.test"),
        lambda: app.admin.remove_domain(CLI, "b.test"),
        lambda: app.admin.create_token(CLI, "web"),
        lambda: app.admin.enrol_totp(CLI, "web"),
    ]
    for attempt in attempts:
        with pytest.raises(RuntimeError):
            await attempt()
    monkeypatch.undo()
    assert await app.accounts.get_user("bob@a.test") is None
    assert await app.accounts.authenticate("alice@a.test", password) is not None
    assert await app.admin.get_forward(CLI, "alice@a.test") is None
    assert [d.name for d in await app.admin.list_domains(CLI)] == ["a.test", "b.test"]
    assert await app.admin.list_tokens(CLI, "web") == []
    assert not (await app.admin.list_admins(CLI))[0].totp
    assert len(await app.admin.list_audit(CLI)) == before


@pytest.fixture
async def strict(tmp_path: Path) -> AsyncIterator[App]:
    """An App whose throttle bans an address at its third failed login (no delays)."""
    app = App(from_dict({"data_dir": str(tmp_path), "hostname": "mail.example.test",
                         "security": {"auth_failure_delay": 0, "ban_after": 3}}))
    await app.open()
    await app.admin.add_domain(CLI, "a.test")
    yield app
    await app.close()


OWN_CHANGES = ["password", "token", "totp enrol", "totp remove"]


def own_change(app: App, what: str, actor: Actor, current: str | None) -> Awaitable[object]:
    """One change of `actor`'s own credentials, given `current` as their password."""
    if what == "password":
        return app.admin.set_admin_password(actor, actor.name, generate_password(),
                                            current_password=current)
    if what == "token":
        return app.admin.create_token(actor, actor.name, "x", current_password=current)
    if what == "totp enrol":
        return app.admin.enrol_totp(actor, actor.name, current_password=current)
    return app.admin.remove_totp(actor, actor.name, current_password=current)


async def credentials(app: App, name: str) -> tuple[object, ...]:
    return (await app.store.get_admin(name), await app.store.get_totp_secret(name),
            await app.store.list_api_tokens(name))


@pytest.mark.parametrize("what", OWN_CHANGES)
async def test_own_credentials_change_only_with_the_current_password(strict: App,
                                                                     what: str) -> None:
    """A stolen session or token alone cannot change its administrator's
    credentials: without the current password, or with a wrong one, nothing
    changes; with it, the change is made."""
    password = generate_password()
    await strict.admin.add_admin(CLI, "web", password, operator=True)
    await strict.store.set_totp_secret("web", "A" * 32)
    web = Actor("web", True, frozenset(), "198.51.100.7")
    before = await credentials(strict, "web")
    with pytest.raises(Forbidden, match="required"):
        await own_change(strict, what, web, None)
    with pytest.raises(Forbidden, match="wrong"):
        await own_change(strict, what, web, "not " + password)
    with pytest.raises(Forbidden, match="wrong"):
        await own_change(strict, what, web, password + "x" * limits.MAX_PASSWORD_LENGTH)
    assert await credentials(strict, "web") == before
    await own_change(strict, what, web, password)
    assert await credentials(strict, "web") != before


async def test_the_cli_and_an_operator_acting_on_others_are_not_asked(strict: App) -> None:
    await strict.admin.add_admin(CLI, "web", generate_password(), operator=False,
                                 domains=["a.test"])
    await strict.admin.add_admin(CLI, "root", generate_password(), operator=True)
    root = Actor("root", True, frozenset(), "198.51.100.7")
    for actor in (CLI, root):
        await strict.admin.set_admin_password(actor, "web", generate_password())
        await strict.admin.enrol_totp(actor, "web")
        await strict.admin.remove_totp(actor, "web")
        await strict.admin.create_token(actor, "web")
    # an administrator who happens to be called "cli" is asked all the same
    await strict.admin.add_admin(CLI, "cli", generate_password(), operator=True)
    with pytest.raises(Forbidden):
        await strict.admin.create_token(Actor("cli", True, frozenset(), "198.51.100.7"), "cli")


async def test_a_wrong_current_password_is_a_failed_login(strict: App) -> None:
    """Counted by the login throttle with the logins: one failed login and two
    wrong current passwords from an address ban it (ban_after 3); then even the
    right password changes nothing, and the panel login is refused too."""
    password = generate_password()
    await strict.admin.add_admin(CLI, "web", password, operator=False, domains=["a.test"])
    web = admin_of("a.test")
    before = await credentials(strict, "web")
    with pytest.raises(Unauthenticated):
        await strict.admin.login("web", "guess one", None, web.remote)
    with pytest.raises(Forbidden):
        await strict.admin.set_admin_password(web, "web", generate_password(),
                                              current_password="guess two")
    with pytest.raises(Throttled) as banned:
        await strict.admin.create_token(web, "web", current_password="guess three")
    assert banned.value.until > time.time()
    for what in OWN_CHANGES:
        with pytest.raises(Throttled):
            await own_change(strict, what, web, password)
    assert await credentials(strict, "web") == before
    with pytest.raises(Banned):
        await strict.admin.login("web", password, None, web.remote)
    # another address is not banned, and the right password works from it
    elsewhere = Actor("web", False, frozenset({"a.test"}), "203.0.113.9")
    await strict.admin.create_token(elsewhere, "web", current_password=password)
