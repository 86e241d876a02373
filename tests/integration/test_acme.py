"""Certificates by ACME against Pebble on loopback: issued with a real HTTP-01
validation of our http listener (and TLS-ALPN-01 of our https listener),
served on IMAPS and HTTPS, renewed on request, and hot-swapped while an IMAP
connection made before the swap stays usable. Configured certificate files
are re-read when they change and on SIGHUP.
"""

from __future__ import annotations

import imaplib
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from http.client import HTTPSConnection
from pathlib import Path

import pytest
import trustme
from cryptography import x509

from tests.support.mailstore import DOMAIN, PASSWORD, mail_config
from tests.support.pebble import Pebble, free_port, running_pebble
from tests.support.server import ServerProcess, running_server, write_config

ISSUE_TIMEOUT = 90.0


def served(port: int, server_hostname: str = "localhost") -> x509.Certificate:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=server_hostname) as tls:
            der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def wait_until(what: str, server: ServerProcess, predicate: Callable[[], bool]) -> None:
    deadline = time.monotonic() + ISSUE_TIMEOUT
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}:\n" + "".join(server.stderr)[-4000:])
        time.sleep(0.2)


def wait_for_certificate(what: str, server: ServerProcess, port: int,
                         wanted: Callable[[x509.Certificate], bool]) -> x509.Certificate:
    """The first certificate served on `port` that is `wanted`. Not a second
    handshake after the wait: with worker processes (POSTBUS_TEST_WORKERS) it may
    reach a worker that does not serve that certificate yet."""
    seen: list[x509.Certificate] = []

    def check() -> bool:
        seen.append(served(port))
        return wanted(seen[-1])

    wait_until(what, server, check)
    return seen[-1]


#: Connections per check that every worker process serves a certificate: the kernel
#: spreads them over the workers (POSTBUS_TEST_WORKERS), so a few reach each.
SPREAD = 6


def everywhere(ports: tuple[int, ...], serial: int) -> bool:
    """Whether new handshakes on `ports` all get the certificate `serial`."""
    return all(served(port).serial_number == serial for port in ports for _ in range(SPREAD))


def from_pebble(cert: x509.Certificate) -> bool:
    return "Pebble" in cert.issuer.rfc4514_string()


def verifies_against(pebble: Pebble, port: int) -> None:
    """A full TLS verification with Pebble's root: the chain we serve is complete."""
    ctx = ssl.create_default_context(cadata=pebble.roots_pem().decode())
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost"):
            pass


def acme_config(tmp_path: Path, pebble: Pebble, http: int, https: int, challenge: str) -> Path:
    return mail_config(tmp_path, {
        "listen": {"http": f"127.0.0.1:{http}" if challenge == "http-01" else "",
                   "https": f"127.0.0.1:{https}"},
        "tls": {"acme": True, "acme_directory": pebble.directory, "acme_contact": "ops@example.test",
                "acme_ca_bundle": str(pebble.ca_bundle), "acme_check_interval": "1s",
                "acme_challenge": challenge},
    })


def test_acme_http01_issue_serve_renew_and_hot_swap(tmp_path: Path) -> None:
    http, https = free_port(), free_port()
    with running_pebble(tmp_path / "pebble", http_port=http, tls_port=https) as pebble:
        config = acme_config(tmp_path, pebble, http, https, "http-01")
        with running_server(config) as server:
            imaps = server.port("imaps")
            first = wait_for_certificate("the first certificate", server, imaps, from_pebble)
            wait_until("every worker to serve it", server,
                       lambda: everywhere((imaps, https), first.serial_number))
            names = first.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            assert names.get_values_for_type(x509.DNSName) == ["localhost"]
            verifies_against(pebble, imaps)
            verifies_against(pebble, https)

            ctx = ssl.create_default_context(cadata=pebble.roots_pem().decode())
            client = imaplib.IMAP4_SSL("localhost", imaps, ssl_context=ctx, timeout=30)
            client.login(f"anna@{DOMAIN}", PASSWORD)
            client.select("INBOX")
            web = HTTPSConnection("localhost", https, context=ctx, timeout=30)
            web.request("GET", "/healthz")
            assert web.getresponse().read()
            web_socket = web.sock

            def web_alive() -> bool:
                """A request on the HTTPS connection made before the swap (often enough
                that uvicorn's keep-alive timeout never closes it)."""
                web.request("GET", "/healthz")
                assert web.getresponse().read() and web.sock is web_socket
                return True

            renew = subprocess.Popen([sys.executable, "-m", "postbus.cli", "--config", str(config),
                                      "tls", "renew"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            while renew.poll() is None:  # keep the HTTPS connection busy meanwhile
                web_alive()
                time.sleep(0.5)
            out, _ = renew.communicate()
            assert renew.returncode == 0, out
            server.proc.send_signal(signal.SIGHUP)
            second = wait_for_certificate(
                "the renewed certificate", server, imaps,
                lambda cert: web_alive() and cert.serial_number != first.serial_number)
            assert from_pebble(second)
            wait_until("every worker and https to serve it", server,
                       lambda: web_alive() and everywhere((imaps, https), second.serial_number))
            verifies_against(pebble, https)

            # the connection from before the swap carries on, on its old session
            assert client.noop()[0] == "OK"
            assert client.select("INBOX")[0] == "OK"
            client.logout()
            assert web_alive()  # the HTTPS keep-alive connection too
            web.close()
    log = "".join(server.stderr)
    assert "acme: ordering a certificate for localhost (no certificate yet)" in log
    assert "acme: ordering a certificate for localhost (renewal asked for)" in log
    assert log.count("tls: new certificate in use (ACME certificate for localhost issued") == 2

    with running_server(config) as restarted:  # serves it from the first handshake, orders nothing
        assert served(restarted.port("imaps")).serial_number == second.serial_number
    assert "acme: ordering" not in "".join(restarted.stderr)


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_acme_tls_alpn01_on_the_https_listener(tmp_path: Path, loop: str) -> None:
    """The challenge certificate is chosen from the ClientHello's ALPN list, read by
    the SSL context's message callback: on both event loops (uvloop has its own TLS)."""
    https = free_port()
    with running_pebble(tmp_path / "pebble", http_port=free_port(), tls_port=https) as pebble:
        config = acme_config(tmp_path, pebble, 0, https, "tls-alpn-01")
        with running_server(config, env={"POSTBUS_LOOP": loop}) as server:
            issued = wait_for_certificate("the certificate", server, https, from_pebble).serial_number
            wait_until("every worker to serve it", server,
                       lambda: everywhere((https, server.port("imaps")), issued))
            verifies_against(pebble, server.port("imaps"))
    assert "by tls-alpn-01" in "".join(server.stderr)


def test_certificate_files_are_reread_on_change_and_on_sighup(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert, key = tmp_path / "server.crt", tmp_path / "server.key"

    def issue(name: str) -> None:
        leaf = ca.issue_cert(name)
        leaf.private_key_pem.write_to_path(str(key))
        leaf.cert_chain_pems[0].write_to_path(str(cert))

    def name_served(port: int) -> list[str]:
        ext = served(port).extensions.get_extension_for_class(x509.SubjectAlternativeName)
        return ext.value.get_values_for_type(x509.DNSName)

    issue("first.example.test")
    watched = write_config(tmp_path, {"tls": {"cert": str(cert), "key": str(key),
                                              "watch_interval": "0.2s"}})
    with running_server(watched) as server:
        assert name_served(server.port("imaps")) == ["first.example.test"]
        issue("second.example.test")
        wait_until("the changed file", server,
                   lambda: name_served(server.port("imaps")) == ["second.example.test"])
        wait_until("https too", server,
                   lambda: name_served(server.port("https")) == ["second.example.test"])

    (tmp_path / "hup").mkdir()
    hup = write_config(tmp_path / "hup", {"tls": {"cert": str(cert), "key": str(key),
                                                   "watch_interval": "1h"}})
    with running_server(hup) as server:
        issue("third.example.test")
        assert name_served(server.port("imaps")) == ["second.example.test"]
        server.proc.send_signal(signal.SIGHUP)
        wait_until("the file re-read on SIGHUP", server,
                   lambda: name_served(server.port("imaps")) == ["third.example.test"])
        cert.write_text("not a certificate")  # a broken file: the old certificate stays
        server.proc.send_signal(signal.SIGHUP)
        wait_until("the refusal", server,
                   lambda: "certificate not reloaded, keeping the old one" in "".join(server.stderr))
        assert name_served(server.port("imaps")) == ["third.example.test"]


@pytest.mark.parametrize("challenge", ["http-01", "tls-alpn-01"])
def test_two_nodes_on_postgresql_one_orders_both_serve(tmp_path: Path, challenge: str) -> None:
    """Node B holds the order lease (taken for it before the start), so B orders
    and A does not; Pebble validates on node A's listeners, and A answers from
    the challenges B put in the store. A then serves the certificate it finds
    in the store."""
    from tests.support.mail import _in_thread, _with_store
    from tests.support.pg import throwaway_database

    http_a, https_a = free_port(), free_port()
    with throwaway_database() as url, \
            running_pebble(tmp_path / "pebble", http_port=http_a, tls_port=https_a) as pebble:
        configs = []
        for node, http, https in (("node-a", http_a, https_a), ("node-b", free_port(), free_port())):
            (tmp_path / node).mkdir()
            configs.append(write_config(tmp_path / node, {
                "storage": {"backend": "postgresql", "url": url},
                "listen": {"http": f"127.0.0.1:{http}", "https": f"127.0.0.1:{https}"},
                "tls": {"acme": True, "acme_directory": pebble.directory, "acme_challenge": challenge,
                        "acme_ca_bundle": str(pebble.ca_bundle), "acme_check_interval": "1s"},
            }, node_name=node))
        assert _in_thread(lambda: _with_store(
            configs[1], lambda store: store.claim_lease("acme", "node-b", time.time(), 600.0)))
        with running_server(configs[0]) as a, running_server(configs[1]) as b:
            issued = wait_for_certificate("the certificate", b, b.port("imaps"), from_pebble).serial_number
            for server in (a, b):  # every worker process of each node, once it has read the store
                wait_until("every worker to serve it", server,
                           lambda s=server: everywhere((s.port("imaps"), s.port("https")),  # type: ignore[misc]
                                                       issued))
    assert "acme: ordering a certificate" in "".join(b.stderr)
    assert f"by {challenge}" in "".join(b.stderr)
    assert "acme: ordering a certificate" not in "".join(a.stderr)
    assert "another node holds the order lease" in "".join(a.stderr)
    assert "from the store" in "".join(a.stderr)


def test_a_failed_order_is_logged_and_retried_later(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"tls": {
        "acme": True, "acme_directory": f"https://127.0.0.1:{free_port()}/dir"}})
    with running_server(config) as server:
        wait_until("the failure", server,
                   lambda: "next attempt in 60s" in "".join(server.stderr))
        assert not from_pebble(served(server.port("imaps")))  # the self-signed one meanwhile
    assert "acme: no certificate for localhost: " in "".join(server.stderr)
