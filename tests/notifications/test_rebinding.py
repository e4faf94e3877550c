"""DNS rebinding: a webhook's host name is resolved once, when the connection is made, and
every address it resolved to is checked before connecting to one of them.

The receivers are real HTTP servers on this machine: one on 127.0.0.1 (what a rebinding
attacker aims at: loopback, link-local and cloud metadata are refused) and one on the
machine's own non-loopback address (a private network address, which is allowed), both on
the same port. Only the resolver is replaced (socket.getaddrinfo, for the test's names
only): DNS is off this machine."""

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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
