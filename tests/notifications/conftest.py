"""Real parts for notifications: HTTP receivers on 127.0.0.1 that record what they were
sent and answer as told, an SMTP server on 127.0.0.1 (aiosmtpd), and a way to raise an
event as a service would (inside its transaction)."""

import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from django.db import transaction

from liftoff.events import emit
from notifications.models import Delivery
from notifications.services import webhook_create
from tests.factories import ProjectFactory, ReleaseFactory
from tests.helpers import free_port


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes


@dataclass
class Receiver:
    """Answers by path: /ok 200; /flaky 503 twice then 200; /silent never answers (until
    stopped); /gone 410; /bad 400; /busy 429 with Retry-After: 120."""

    server: ThreadingHTTPServer | None = None
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def seen(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.path == path]


@pytest.fixture
def receiver():
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            with state.lock:
                state.requests.append(Received(self.path, dict(self.headers), body))
                count = len([r for r in state.requests if r.path == self.path])
            if self.path == "/silent":
                state.stopping.wait(30)
                return
            code = {"/ok": 200, "/gone": 410, "/bad": 400, "/busy": 429}.get(self.path, 200)
            if self.path == "/flaky":
                code = 503 if count <= 2 else 200
            self.send_response(code)
            if code == 429:
                self.send_header("Retry-After", "120")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    state.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    state.server.daemon_threads = True
    threading.Thread(target=state.server.serve_forever, daemon=True).start()
    yield state
    state.stopping.set()
    state.server.shutdown()
    state.server.server_close()


class _Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            (envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default))
        )
        return "250 OK"


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on 127.0.0.1, and Django's SMTP backend pointed at it."""
    inbox = _Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }
    yield inbox
    controller.stop()


@pytest.fixture
def project(db):
    return ProjectFactory(slug="rocket")


@pytest.fixture
def release(project):
    return ReleaseFactory(project=project, version="2.0.0", codename="Nova")


@pytest.fixture
def raise_event(django_capture_on_commit_callbacks):
    """`raise_event(name, subject, payload, actor=None)`: emit as a service does and
    commit; the doorbells are not rung (the tests send deliveries themselves), so no
    worker is needed. Returns the deliveries the event wrote."""

    def raise_(name, subject, payload=None, actor=None):
        before = set(Delivery.objects.values_list("pk", flat=True))
        with django_capture_on_commit_callbacks(execute=False), transaction.atomic():
            emit(name, subject=subject, payload=payload or {}, actor=actor)
        return list(Delivery.objects.exclude(pk__in=before).order_by("pk"))

    return raise_


@pytest.fixture
def add_webhook(project, admin_user):
    """An endpoint on the receiver (loopback: allowed by an admin for this endpoint)."""

    def add(url, events=("*",), format="standard"):
        return webhook_create(
            project=project,
            url=url,
            events=list(events),
            format=format,
            allow_private=True,
            actor=admin_user,
        )

    return add


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False
