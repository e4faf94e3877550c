"""DNS rebinding: a webhook's host name is resolved once, when the connection is made, and
every address it resolved to is checked before connecting to one of them.

The receivers are real HTTP servers on this machine: one on 127.0.0.1 (what a rebinding
attacker aims at: loopback, link-local and cloud metadata are refused) and one on the
machine's own non-loopback address (a private network address, which is allowed), both on
the same port. Only the resolver is replaced (socket.getaddrinfo, for the test's names
only): DNS is off this machine."""

import socket
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from notifications.models import DeliveryStatus
from notifications.services import delivery_send, webhook_create

pytestmark = pytest.mark.django_db

HOST = "hooks.example.test"
PUBLIC = "93.184.216.34"  # what the name resolves to when the endpoint is saved


def _own_address() -> str:
    """This machine's address on its default route (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect(("192.0.2.123", 9))
        address = sock.getsockname()[0]
    assert not address.startswith("127."), "the test needs a non-loopback address"
    return address


class _Server:
    def __init__(self, address: str, port: int):
        self.hosts: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("content-length", 0)))
                server.hosts.append(self.headers.get("host"))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer((address, port), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receivers():
    """(loopback, private): two receivers on one port, on 127.0.0.1 and on this machine's
    own address."""
    own = _own_address()
    with socket.socket() as probe:
        probe.bind((own, 0))
        port = probe.getsockname()[1]
    loopback, private = _Server("127.0.0.1", port), _Server(own, port)
    yield loopback, private, own, port
    loopback.stop()
    private.stop()


@pytest.fixture
def resolver(monkeypatch):
    """`resolver.answers[name] = [address, ...]`: the next lookups of `name` answer the
    first list left (the last one keeps answering); every lookup of it is counted."""
    real = socket.getaddrinfo

    class Resolver:
        answers: dict[str, list[list[str]]] = {}
        lookups: list[str] = []

        def __call__(self, host, port, *args, **kwargs):
            if host not in self.answers:
                return real(host, port, *args, **kwargs)
            self.lookups.append(host)
            queue = self.answers[host]
            addresses = queue.pop(0) if len(queue) > 1 else queue[0]
            port = int(port or 0)
            return [
                (
                    socket.AF_INET6 if ":" in a else socket.AF_INET,
                    socket.SOCK_STREAM,
                    socket.IPPROTO_TCP,
                    "",
                    (a, port, 0, 0) if ":" in a else (a, port),
                )
                for a in addresses
            ]

    fake = Resolver()
    fake.answers, fake.lookups = {}, []
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


@pytest.fixture
def endpoint(project, admin_user, resolver, receivers):
    """An endpoint on HOST, saved while HOST resolves to a public address (so the save's
    check passes), with private addresses not allowed."""
    port = receivers[3]
    resolver.answers[HOST] = [[PUBLIC]]
    made, _ = webhook_create(
        project=project, url=f"http://{HOST}:{port}/hook", events=["*"], actor=admin_user
    )
    assert not made.allow_private
    resolver.lookups.clear()
    return made


SHIPPED = {"version": "2.0.0", "tag": "v2.0.0", "commit": "abc123"}


def test_a_name_that_resolves_to_loopback_when_sent_is_refused(
    endpoint, resolver, receivers, raise_event, release
):
    loopback, private, _, _ = receivers
    resolver.answers[HOST] = [["127.0.0.1"]]
    [delivery] = raise_event("release.shipped", release, SHIPPED)

    assert delivery_send(delivery_id=delivery.pk) == DeliveryStatus.FAILED
    delivery.refresh_from_db()
    assert delivery.last_error.startswith("refused: ")
    assert "this machine (127.0.0.1)" in delivery.last_error
    assert delivery.attempts == 1  # refused for good, not retried for a day
    assert loopback.hosts == [] and private.hosts == []


def test_one_refused_address_among_the_answers_refuses_the_name(
    endpoint, resolver, receivers, raise_event, release
):
    loopback, private, own, _ = receivers
    resolver.answers[HOST] = [[own, "169.254.169.254"]]
    [delivery] = raise_event("release.shipped", release, SHIPPED)

    assert delivery_send(delivery_id=delivery.pk) == DeliveryStatus.FAILED
    delivery.refresh_from_db()
    assert "cloud metadata address" in delivery.last_error
    assert loopback.hosts == [] and private.hosts == []


def test_the_name_is_resolved_once_and_the_checked_address_is_the_one_connected_to(
    endpoint, resolver, receivers, raise_event, release
):
    """A rebinding resolver: an allowed address to the first lookup, loopback to any
    later one. Checking the name and letting the client look it up again would reach the
    loopback receiver; the one lookup, checked and connected to, reaches the allowed one
    (with the name in its Host header)."""
    loopback, private, own, port = receivers
    resolver.answers[HOST] = [[own], ["127.0.0.1"]]
    [delivery] = raise_event("release.shipped", release, SHIPPED)

    assert delivery_send(delivery_id=delivery.pk) == DeliveryStatus.DELIVERED
    assert loopback.hosts == []
    assert private.hosts == [f"{HOST}:{port}"]
    assert resolver.lookups == [HOST]


def test_an_endpoint_an_admin_allowed_private_addresses_still_reaches_loopback(
    endpoint, resolver, receivers, raise_event, release
):
    loopback, _, _, _ = receivers
    endpoint.allow_private = True
    endpoint.save(update_fields=["allow_private"])
    resolver.answers[HOST] = [["127.0.0.1"]]
    [delivery] = raise_event("release.shipped", release, SHIPPED)

    assert delivery_send(delivery_id=delivery.pk) == DeliveryStatus.DELIVERED
    assert len(loopback.hosts) == 1


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


@pytest.fixture
def tls(tmp_path):
    """A CA, and a certificate it signed for HOST (and one for another name), made with
    the openssl command line."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=Liftoff test CA", "-keyout", "ca.key", "-out", "ca.pem",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=tmp_path)  # fmt: skip
    for name in (HOST, "other.example.test"):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
                 "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=tmp_path)  # fmt: skip
        (tmp_path / f"{name}.ext").write_text(f"subjectAltName=DNS:{name}\n")
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext",
                 "-out", f"{name}.pem", cwd=tmp_path)  # fmt: skip
    return tmp_path


def _https(tls: Path, name: str, address: str, port: int) -> tuple[_Server, list[str]]:
    """A receiver on `address`:`port` serving `name`'s certificate; records the SNI."""
    server = _Server(address, port)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls / f"{name}.pem", tls / f"{name}.key")
    names: list[str] = []
    context.sni_callback = lambda sock, sni, ctx: names.append(sni)
    server.httpd.socket = context.wrap_socket(server.httpd.socket, server_side=True)
    return server, names


@pytest.mark.parametrize("certificate", [HOST, "other.example.test"])
def test_https_keeps_the_name_for_sni_and_the_certificate(
    certificate, tls, resolver, project, admin_user, raise_event, release, settings
):
    """Connected to the checked address, TLS still names HOST (SNI) and checks the
    certificate for HOST: one made out to another name is refused."""
    settings.WEBHOOK_CA_FILE = str(tls / "ca.pem")
    own = _own_address()
    with socket.socket() as probe:
        probe.bind((own, 0))
        port = probe.getsockname()[1]
    server, names = _https(tls, certificate, own, port)
    try:
        resolver.answers[HOST] = [[PUBLIC]]
        webhook_create(
            project=project, url=f"https://{HOST}:{port}/hook", events=["*"], actor=admin_user
        )
        resolver.answers[HOST] = [[own]]
        [delivery] = raise_event("release.shipped", release, SHIPPED)
        status = delivery_send(delivery_id=delivery.pk)
    finally:
        server.stop()
    assert names == [HOST]
    delivery.refresh_from_db()
    if certificate == HOST:
        assert status == DeliveryStatus.DELIVERED
        assert server.hosts == [f"{HOST}:{port}"]
    else:
        assert status == DeliveryStatus.PENDING  # retried later, like any failed attempt
        assert "CERTIFICATE_VERIFY_FAILED" in delivery.last_error
        assert server.hosts == []
