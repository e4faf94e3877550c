"""liftoff.http.probe with its shared client: real HTTP servers on 127.0.0.1."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from liftoff.http import probe


class _Service:
    """One endpoint recording each request's Cookie header and client port."""

    def __init__(self, set_cookie: bool = False):
        self.cookies: list[str | None] = []
        self.ports: list[int] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                service.cookies.append(self.headers.get("Cookie"))
                service.ports.append(self.client_address[1])
                body = json.dumps({"version": "1.0.0"}).encode()
                self.send_response(200)
                if set_cookie:
                    self.send_header("Set-Cookie", "session=secret; Path=/")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/healthz"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def services():
    made = []
    yield lambda **kw: made.append(_Service(**kw)) or made[-1]
    for service in made:
        service.close()


def test_a_probe_reads_status_and_json(services):
    service = services()
    answer = probe(service.url, timeout=5)
    assert answer.status == 200 and answer.body == {"version": "1.0.0"} and not answer.error


def test_a_cookie_one_service_sets_never_reaches_another(services):
    setter, other = services(set_cookie=True), services()
    probe(setter.url, timeout=5)
    probe(other.url, timeout=5)
    probe(setter.url, timeout=5)
    assert other.cookies == [None]
    assert setter.cookies == [None, None]


def test_every_probe_opens_its_own_connection(services):
    service = services()
    for _ in range(3):
        probe(service.url, timeout=5)
    assert len(set(service.ports)) == 3


def test_probes_from_many_threads_all_answer(services):
    endpoints = [services() for _ in range(20)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda s: probe(s.url, timeout=5), endpoints * 3))
    assert [a.status for a in answers] == [200] * 60


def test_a_closed_port_is_refused(services):
    service = services()
    url = service.url
    service.close()
    answer = probe(url, timeout=2)
    assert answer.status is None and answer.error == "connection refused"
