"""The authorisation matrix of the JSON API (issue 14): every operation, asked by
the operator, an administrator of domain A, an administrator of domain B, the
mailbox user of A (their mailbox password as a bearer token and as Basic
credentials) and nobody; the status is asserted for each, and when a request
is refused the thing it aimed at is checked unchanged. Nothing of A is
readable or changeable with B's credentials: B gets 404 for A's things (their
existence does not leak) and 403 for operator-only operations."""

from __future__ import annotations

import base64
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from postbus.admin import CLI
from postbus.admin.permissions import OPERATIONS, Scope
from postbus.admin.service import generate_password
from postbus.app import App
from tests.support.api import ApiServer, api_server

A, B = "a.test", "b.test"
ROLES = ("operator", "admin_a", "admin_b", "user_a_bearer", "user_a_basic", "nobody")


@dataclass
class World:
    server: ApiServer
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    # each administrator's password, sent as current_password by /me changes
    passwords: dict[str, str] = field(default_factory=dict)
    counter: Iterator[int] = field(default_factory=itertools.count)

    def fresh_mailbox(self) -> str:
        address = f"m{next(self.counter)}@{A}"
        self.server.run(lambda app: app.admin.create_mailbox(CLI, address))
        return address


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with api_server(tmp_path_factory.mktemp("authz")) as server:
        user_password = generate_password()

        passwords = {name: generate_password() for name in ("root", "admin_a", "admin_b")}

        async def setup(app: App) -> dict[str, str]:
            for d in (A, B):
                await app.admin.add_domain(CLI, d)
            await app.admin.create_mailbox(CLI, f"alice@{A}", user_password)
            await app.admin.create_mailbox(CLI, f"bob@{B}", user_password)
            tokens = {}
            for name, operator, domains in (("root", True, ()), ("admin_a", False, (A,)),
                                            ("admin_b", False, (B,))):
                await app.admin.add_admin(CLI, name, passwords[name], operator=operator,
                                          domains=domains)
                tokens[name] = (await app.admin.create_token(CLI, name)).secret
            return tokens

        tokens = server.run(setup)
        basic = base64.b64encode(f"alice@{A}:{user_password}".encode()).decode()
        yield World(server, {
            "operator": {"Authorization": f"Bearer {tokens['root']}"},
            "admin_a": {"Authorization": f"Bearer {tokens['admin_a']}"},
            "admin_b": {"Authorization": f"Bearer {tokens['admin_b']}"},
            "user_a_bearer": {"Authorization": f"Bearer {user_password}"},
            "user_a_basic": {"Authorization": f"Basic {basic}"},
            "nobody": {},
        }, passwords=passwords)


@dataclass(frozen=True)
class Op:
    operation: str  # the service operation it is (permissions.OPERATIONS)
    method: str
    # builds (path, json body, check that the target is unchanged) for one request by a role
    build: Callable[[World, str], tuple[str, Any, Callable[[], None]]]
    success: int


def nothing() -> None:
    pass


def mailbox(w: World) -> Any:
    return lambda address: w.server.run(lambda app: app.accounts.get_user(address))


def _mailbox_op(operation: str, method: str, suffix: str, body: Any, success: int,
                unchanged: Callable[[World, str, Any], None] | None = None) -> Op:
    def build(w: World, _role: str) -> tuple[str, Any, Callable[[], None]]:
        address = w.fresh_mailbox()
        before = mailbox(w)(address)

        def check() -> None:
            if unchanged is not None:
                unchanged(w, address, before)

        return f"/mailboxes/{address}{suffix}", body, check

    return Op(operation, method, build, success)


def same_account(w: World, address: str, before: Any) -> None:
    assert mailbox(w)(address) == before


def no_forward(w: World, address: str, before: Any) -> None:
    assert w.server.run(lambda app: app.admin.get_forward(CLI, address)) is None


def no_vacation(w: World, address: str, before: Any) -> None:
    assert w.server.run(lambda app: app.admin.get_vacation(CLI, address)) is None


def _fixed(operation: str, method: str, path: str, body: Any, success: int) -> Op:
    return Op(operation, method, lambda w, _role: (path, body, nothing), success)


def _new_domain(w: World, _role: str) -> tuple[str, Any, Callable[[], None]]:
    name = f"new{next(w.counter)}.test"

    def check() -> None:
        assert w.server.run(lambda app: app.accounts.get_domain(name)) is None

    return "/domains", {"name": name}, check


def _removable_domain(w: World, _role: str) -> tuple[str, Any, Callable[[], None]]:
    name = f"gone{next(w.counter)}.test"
    w.server.run(lambda app: app.admin.add_domain(CLI, name))

    def check() -> None:
        assert w.server.run(lambda app: app.accounts.get_domain(name)) is not None

    return f"/domains/{name}", None, check


def _suspend_a(w: World, _role: str) -> tuple[str, Any, Callable[[], None]]:
    def check() -> None:
        assert w.server.run(lambda app: app.store.list_suspended_domains()) == []

    return f"/domains/{A}", {"suspended": False}, check


def _new_mailbox(w: World, _role: str) -> tuple[str, Any, Callable[[], None]]:
    local = f"n{next(w.counter)}"

    def check() -> None:
        assert w.server.run(lambda app: app.accounts.get_user(f"{local}@{A}")) is None

    return f"/domains/{A}/mailboxes", {"local_part": local}, check


def _new_alias(w: World, _role: str) -> tuple[str, Any, Callable[[], None]]:
    local = f"al{next(w.counter)}"

    def check() -> None:
        assert w.server.run(lambda app: app.store.get_alias(f"{local}@{A}")) is None

    return f"/domains/{A}/aliases", {"source": local, "targets": [f"alice@{A}"]}, check


def _removable_alias(w: World, _role: str) -> tuple[str, Any, Callable[[], None]]:
    local = f"al{next(w.counter)}"
    w.server.run(lambda app: app.admin.add_alias(CLI, f"{local}@{A}", [f"alice@{A}"]))

    def check() -> None:
        assert w.server.run(lambda app: app.store.get_alias(f"{local}@{A}")) is not None

    return f"/domains/{A}/aliases/{local}", None, check


def _new_admin(w: World, _role: str) -> tuple[str, Any, Callable[[], None]]:
    name = f"adm{next(w.counter)}"

    def check() -> None:
        assert w.server.run(lambda app: app.store.get_admin(name)) is None

    # a domain administrator asking for an operator: raising rights
    return "/admins", {"name": name, "password": generate_password(), "operator": True}, check


def _removable_admin(w: World, _role: str) -> tuple[str, Any, Callable[[], None]]:
    name = f"adm{next(w.counter)}"
    w.server.run(lambda app: app.admin.add_admin(CLI, name, generate_password(),
                                                 operator=False, domains=[A]))

    def check() -> None:
        assert w.server.run(lambda app: app.store.get_admin(name)) is not None

    return f"/admins/{name}", None, check


#: whose own credentials a role's /me requests change (the mailbox user and nobody
#: aim at admin_a's, which must stay as they are)
OWNER = {"operator": "root", "admin_a": "admin_a", "admin_b": "admin_b"}


def _owner(role: str) -> str:
    return OWNER.get(role, "admin_a")


def _current(w: World, role: str) -> dict[str, str]:
    """The right current password of the owner: the matrix checks authorisation,
    not re-authentication (test_me_changes_need_the_current_password does)."""
    return {"current_password": w.passwords[_owner(role)]}


def _own_password(w: World, role: str) -> tuple[str, Any, Callable[[], None]]:
    name = _owner(role)
    before = w.server.run(lambda app: app.store.get_admin(name))

    def check() -> None:
        assert w.server.run(lambda app: app.store.get_admin(name)) == before

    return "/me/password", {**_current(w, role), "password": generate_password()}, check


def _own_tokens(w: World, role: str) -> tuple[str, Any, Callable[[], None]]:
    name = _owner(role)
    before = w.server.run(lambda app: app.store.list_api_tokens(name))

    def check() -> None:
        assert w.server.run(lambda app: app.store.list_api_tokens(name)) == before

    return "/me/tokens", {**_current(w, role), "label": "deploy"}, check


def _list_own_tokens(w: World, role: str) -> tuple[str, Any, Callable[[], None]]:
    return "/me/tokens", None, nothing


def _own_token(w: World, role: str) -> tuple[str, Any, Callable[[], None]]:
    name = _owner(role)
    made = w.server.run(lambda app: app.admin.create_token(CLI, name, "spare"))

    def check() -> None:
        ids = [t.id for t in w.server.run(lambda app: app.store.list_api_tokens(name))]
        assert made.token.id in ids

    return f"/me/tokens/{made.token.id}", None, check


def _own_totp(enrolled: bool) -> Callable[[World, str], tuple[str, Any, Callable[[], None]]]:
    def build(w: World, role: str) -> tuple[str, Any, Callable[[], None]]:
        name = _owner(role)
        w.server.run(lambda app: app.store.set_totp_secret(name, "A" * 32 if enrolled else None))

        def check() -> None:
            secret = w.server.run(lambda app: app.store.get_totp_secret(name))
            assert (secret is not None) is enrolled

        return "/me/totp", _current(w, role), check

    return build


OPS = [
    _fixed("domain.list", "GET", "/domains", None, 200),
    Op("domain.add", "POST", _new_domain, 201),
    _fixed("domain.read", "GET", f"/domains/{A}", None, 200),
    Op("domain.suspend", "PATCH", _suspend_a, 200),
    Op("domain.remove", "DELETE", _removable_domain, 204),
    _fixed("mailbox.list", "GET", f"/domains/{A}/mailboxes", None, 200),
    Op("mailbox.create", "POST", _new_mailbox, 201),
    _mailbox_op("mailbox.read", "GET", "", None, 200),
    _mailbox_op("mailbox.update", "PATCH", "", {"enabled": False, "quota_bytes": 5}, 200,
                same_account),
    _mailbox_op("mailbox.delete", "DELETE", "", None, 204, same_account),
    _mailbox_op("mailbox.password", "PUT", "/password", {}, 200, same_account),
    _mailbox_op("mailbox.password", "POST", "/password", {}, 200, same_account),
    _mailbox_op("forward.read", "GET", "/forwarding", None, 200),
    _mailbox_op("forward.set", "PUT", "/forwarding", {"targets": ["x@elsewhere.test"]}, 200,
                no_forward),
    _mailbox_op("vacation.read", "GET", "/vacation", None, 200),
    _mailbox_op("vacation.set", "PUT", "/vacation", {"enabled": True, "subject": "away"}, 200,
                no_vacation),
    _fixed("alias.list", "GET", f"/domains/{A}/aliases", None, 200),
    Op("alias.add", "POST", _new_alias, 201),
    Op("alias.remove", "DELETE", _removable_alias, 204),
    _fixed("admin.list", "GET", "/admins", None, 200),
    Op("admin.add", "POST", _new_admin, 201),
    Op("admin.remove", "DELETE", _removable_admin, 204),
    _fixed("audit.list", "GET", "/audit", None, 200),
    Op("admin.password", "PUT", _own_password, 204),
    Op("token.list", "GET", _list_own_tokens, 200),
    Op("token.create", "POST", _own_tokens, 201),
    Op("token.revoke", "DELETE", _own_token, 204),
    Op("admin.totp", "POST", _own_totp(enrolled=False), 201),
    Op("admin.totp", "DELETE", _own_totp(enrolled=True), 204),
]


def expected(op: Op, role: str) -> int:
    scope = OPERATIONS[op.operation]
    if role in ("user_a_bearer", "user_a_basic", "nobody"):
        return 401
    if role == "operator" or scope in (Scope.ANY, Scope.SELF):  # SELF: /me is one's own
        return op.success
    if scope is Scope.OPERATOR:
        return 403
    return op.success if role == "admin_a" else 404


def test_the_matrix_covers_every_api_operation() -> None:
    assert {op.operation for op in OPS} == set(OPERATIONS)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("op", OPS, ids=[f"{o.method} {o.operation}" for o in OPS])
def test_authorisation(world: World, op: Op, role: str) -> None:
    path, body, unchanged = op.build(world, role)
    response = httpx.request(op.method, world.server.url + "/api/v1" + path, json=body,
                             headers=world.headers[role], timeout=30)
    want = expected(op, role)
    assert response.status_code == want, (response.status_code, response.text)
    if path == "/me/password" and response.status_code == 204:
        world.passwords[_owner(role)] = body["password"]
    if want >= 400:
        unchanged()
        assert set(response.json()) == {"error"}
        assert "alice" not in response.text
    if want == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_b_sees_nothing_of_a_in_lists(world: World) -> None:
    world.server.run(lambda app: app.admin.set_forward(CLI, f"alice@{A}", ["far@away.test"]))

    def get(role: str, path: str) -> Any:
        r = httpx.get(world.server.url + "/api/v1" + path, headers=world.headers[role])
        assert r.status_code == 200
        return r.json()

    assert [d["name"] for d in get("admin_b", "/domains")] == [B]
    assert [d["name"] for d in get("admin_a", "/domains")] == [A]
    assert {d["name"] for d in get("operator", "/domains")} >= {A, B}
    audit_b = get("admin_b", "/audit")
    assert audit_b and {e["domain"] for e in audit_b} == {B}
    assert A not in str(audit_b) and "alice" not in str(audit_b)
    audit_a = get("admin_a", "/audit")
    assert {e["domain"] for e in audit_a} == {A}
    assert any(e["action"] == "forward.set" and e["target"] == f"alice@{A}" for e in audit_a)
    # the same 404 for A's real mailbox and for one that does not exist
    real = httpx.get(world.server.url + f"/api/v1/mailboxes/alice@{A}",
                     headers=world.headers["admin_b"])
    ghost = httpx.get(world.server.url + f"/api/v1/mailboxes/ghost@{A}",
                      headers=world.headers["admin_b"])
    assert (real.status_code, real.json()) == (ghost.status_code, ghost.json())


def test_mailbox_credentials_and_revoked_tokens_open_nothing(world: World) -> None:
    made = world.server.run(lambda app: app.admin.create_token(CLI, "admin_a"))
    headers = {"Authorization": f"Bearer {made.secret}"}
    assert httpx.get(world.server.url + "/api/v1/domains", headers=headers).status_code == 200
    world.server.run(lambda app: app.admin.revoke_token(CLI, "admin_a", made.token.id))
    assert httpx.get(world.server.url + "/api/v1/domains", headers=headers).status_code == 401


def test_me_is_always_ones_own(world: World) -> None:
    """/me changes the caller's own record only: another administrator's token id
    is not found (its existence does not leak), and what is created and listed
    belongs to the caller."""
    url = world.server.url + "/api/v1"
    theirs = world.server.run(lambda app: app.admin.create_token(CLI, "admin_a", "theirs"))
    for role in ("admin_b", "operator"):
        r = httpx.delete(f"{url}/me/tokens/{theirs.token.id}", headers=world.headers[role])
        assert r.status_code == 404, role
    assert theirs.token.id in [t.id for t in world.server.run(
        lambda app: app.store.list_api_tokens("admin_a"))]
    own = {"current_password": world.passwords["admin_b"]}
    made = httpx.post(f"{url}/me/tokens", json={**own, "label": "ci"},
                      headers=world.headers["admin_b"])
    assert made.status_code == 201 and made.json()["token"]["admin"] == "admin_b"
    secret = made.json()["secret"]
    listed = httpx.get(f"{url}/me/tokens", headers=world.headers["admin_b"]).json()
    assert {t["admin"] for t in listed} == {"admin_b"} and secret not in str(listed)
    # the new token works, and revoking it ends it
    new = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(f"{url}/domains", headers=new).json() == [{"name": B, "suspended": False}]
    revoked = httpx.delete(f"{url}/me/tokens/{made.json()['token']['id']}", headers=new)
    assert revoked.status_code == 204
    assert httpx.get(f"{url}/domains", headers=new).status_code == 401
    enrolled = httpx.post(f"{url}/me/totp", json=own, headers=world.headers["admin_b"]).json()
    assert enrolled["uri"].startswith("otpauth://totp/") and ":admin_b?" in enrolled["uri"]
    weak = httpx.put(f"{url}/me/password", json={**own, "password": "admin_b1"},
                     headers=world.headers["admin_b"])
    assert weak.status_code == 422
    assert httpx.delete(f"{url}/me/tokens/x1", headers=world.headers["admin_b"]).status_code == 422
    audit = [e["action"] for e in httpx.get(f"{url}/audit", headers=world.headers["operator"],
                                           params={"limit": 20}).json()]
    assert "token.revoke" in audit and "admin.totp" in audit


def test_me_changes_need_the_current_password(world: World) -> None:
    """A token alone changes no credentials: no current password is 422, a wrong
    one 403 (a JSON error, counted as a failed login), and nothing changes;
    another administrator's password is as wrong as any."""
    url = world.server.url + "/api/v1"
    headers = world.headers["admin_a"]

    def credentials() -> tuple[Any, ...]:
        return (world.server.run(lambda app: app.store.get_admin("admin_a")),
                world.server.run(lambda app: app.store.list_api_tokens("admin_a")),
                world.server.run(lambda app: app.store.get_totp_secret("admin_a")))

    before = credentials()
    changes = [("PUT", "/me/password", {"password": generate_password()}),
               ("POST", "/me/tokens", {"label": "stolen"}),
               ("POST", "/me/totp", {}), ("DELETE", "/me/totp", {})]
    for n, (method, path, body) in enumerate(changes):
        missing = httpx.request(method, url + path, json=body, headers=headers)
        assert missing.status_code == 422 and set(missing.json()) == {"error"}
        # distinct guesses: the throttle counts a retried wrong password once
        guess = world.passwords["admin_b"] if n == 0 else f"guess {n}"
        wrong = httpx.request(method, url + path, json={**body, "current_password": guess},
                              headers=headers)
        assert wrong.status_code == 403, (method, path, wrong.text)
        assert wrong.json() == {"error": "the current password is wrong"}
    assert credentials() == before
