"""What the demo repository holds: PepeluGPT's files and the commits that wrote them.

PepeluGPT is a small oracle web service using only the standard library (http.server). Its
history has Conventional Commit messages, four authors and fixed dates, so every build of it
gives the same commit ids; `demo.services.demo_repo_ensure` replays it with GitPython.

Each file is written once, as it stands at the last commit, plus the lines earlier commits
had. A line ending in a marker says when it came and went, by step number (1-based, in
STEPS): `#@4` from step 4 on, `#@4-10` from step 4 until step 10 replaced it, `#@-7` from
the file's first step until step 7. Unmarked lines are there from the file's first step.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path


@dataclass(frozen=True)
class Author:
    name: str
    email: str


@dataclass(frozen=True)
class Tag:
    name: str
    message: str


@dataclass(frozen=True)
class Step:
    when: datetime
    author: Author
    message: str
    tag: Tag | None = None


PEPE = Author("Pepe Luna", "pepe.luna@pepelugpt.example")
ADA = Author("Ada Orbit", "ada.orbit@pepelugpt.example")
KAI = Author("Kai Stellar", "kai.stellar@pepelugpt.example")
MIRA = Author("Mira Quasar", "mira.quasar@pepelugpt.example")

_SUMMER = timezone(timedelta(hours=2), "CEST")
_WINTER = timezone(timedelta(hours=1), "CET")


def _at(month: int, day: int, hour: int, minute: int) -> datetime:
    # Central European time, as the team keeps it: summer time until the end of October.
    zone = _SUMMER if (month, day) < (10, 25) else _WINTER
    return datetime(2026, month, day, hour, minute, tzinfo=zone)


TAG_V010 = Tag("v0.1.0", 'v0.1.0 "Nebula Whisper" – Initial consciousness awakening')
TAG_V020 = Tag("v0.2.0", 'v0.2.0 "Quantum Guardian" – Security framework manifestation')

STEPS: list[Step] = [
    # 1
    Step(_at(6, 1, 9, 12), PEPE, "chore: start PepeluGPT with a package skeleton\n"),
    # 2
    Step(
        _at(6, 4, 14, 30),
        ADA,
        "feat: serve /health with the running version\n\n"
        "A standard-library HTTP server (http.server), so the service runs wherever\n"
        "Python does: `python -m pepelugpt --port 8000`.\n",
    ),
    # 3
    Step(_at(6, 9, 11, 5), KAI, "test: check /health over a real loopback socket\n"),
    # 4
    Step(_at(6, 15, 16, 40), MIRA, "feat(oracle): answer questions at /oracle\n"),
    # 5
    Step(_at(6, 22, 10, 20), PEPE, "docs: explain how to run the service and its tests\n"),
    # 6
    Step(_at(6, 29, 17, 0), PEPE, 'chore(release): 0.1.0 "Nebula Whisper"\n', TAG_V010),
    # 7
    Step(
        _at(7, 8, 9, 45),
        KAI,
        "fix: answer unknown paths with a JSON 404\n\n"
        "send_error() answered with an HTML page that API clients could not parse.\n",
    ),
    # 8
    Step(
        _at(7, 20, 13, 10),
        ADA,
        "chore: add scripts/perf.py, a p95 latency report\n\n"
        'It prints {"metric": "p95_ms", "value": ..., "baseline": ...} so a release gate\n'
        "can compare the measured p95 with the baseline in perf-baseline.json.\n",
    ),
    # 9
    Step(_at(7, 27, 15, 0), MIRA, "perf(oracle): cache answers to repeated questions\n"),
    # 10
    Step(
        _at(8, 3, 10, 0),
        ADA,
        "feat(api)!: serve the oracle under /api/v1/oracle\n\n"
        "A versioned path lets later releases change answers without breaking clients.\n\n"
        "BREAKING CHANGE: /oracle moved to /api/v1/oracle; the old path answers 404.\n",
    ),
    # 11
    Step(_at(8, 17, 11, 30), KAI, "feat(security): send security headers with every response\n"),
    # 12
    Step(
        _at(8, 28, 16, 15),
        MIRA,
        "fix(security): refuse questions longer than 500 characters\n\n"
        "Answers are cached per question, so unbounded questions let a client grow the\n"
        "server's memory at will.\n",
    ),
    # 13
    Step(_at(9, 2, 9, 30), PEPE, "docs: document the performance report and security headers\n"),
    # 14
    Step(_at(9, 7, 18, 0), PEPE, 'chore(release): 0.2.0 "Quantum Guardian"\n', TAG_V020),
    # 15
    Step(_at(9, 21, 10, 10), MIRA, "feat(oracle): speak in oracle, compliance or cosmic mode\n"),
    # 16
    Step(
        _at(10, 5, 14, 20),
        KAI,
        "fix: answer HEAD requests instead of 501\n\n"
        "Load balancers probe /health with HEAD; http.server answered 501 Not Implemented.\n",
    ),
    # 17
    Step(_at(10, 19, 11, 0), ADA, "feat(api): list the personality modes at /api/v1/modes\n"),
    # 18
    Step(
        _at(11, 2, 15, 45),
        MIRA,
        "fix(oracle): give the same answer in every process\n\n"
        "hash() of a str is salted per process (PYTHONHASHSEED), so two servers, or one\n"
        "server after a restart, answered the same question differently. Use SHA-256.\n",
    ),
    # 19
    Step(_at(11, 16, 10, 30), PEPE, "feat: greet visitors at / with the service's routes\n"),
    # 20
    Step(
        _at(11, 23, 14, 5),
        ADA,
        "feat: ask the oracle from a browser at /ask\n\n"
        "A plain HTML page with a labelled form and the answer, no script and no style\n"
        "(the Content-Security-Policy allows neither). scripts/a11y.py checks the pages\n"
        "a person sees for accessibility and writes what it found as axe-core writes\n"
        "its results, so a release gate can count the violations without a browser.\n",
    ),
]

GITIGNORE = """\
__pycache__/
*.pyc
.pytest_cache/
.coverage
coverage.xml
perf.json
bandit.json
pip-audit.json
axe.json  #@20
"""

README = """\
# PepeluGPT

An oracle for cybersecurity questions, served over HTTP with nothing but the Python
standard library. It is the demo product of Liftoff, the release dashboard: a real
repository, with a real history, tags and tests.
#@5
## Running  #@5
#@5
    PYTHONPATH=src python -m pepelugpt --port 8000  #@5
#@5
`--host` and `--port` default to `$PEPELUGPT_HOST` and `$PEPELUGPT_PORT` (127.0.0.1:8000).  #@5
#@5
| Route | Answer |  #@5
|---|---|  #@5
| `GET /` | the service's name, version and routes |  #@19
| `GET /health` | `{"status": "ok", "version": "<version>"}` |  #@5
| `GET /ask?q=<question>&mode=<mode>` | an HTML page: the question form, and the answer |  #@20
| `GET /oracle?q=<question>` | `{"question": ..., "answer": ...}` |  #@5-10
| `GET /api/v1/oracle?q=<question>` | `{"question": ..., "answer": ...}` |  #@10-15
| `GET /api/v1/oracle?q=<question>&mode=<mode>` | `{"question", "mode", "answer"}` |  #@15
| `GET /api/v1/modes` | the modes: `oracle` (the default), `compliance`, `cosmic` |  #@17
#@10
Since 0.2.0 the oracle answers at `/api/v1/oracle`; `/oracle` answers 404.  #@10
#@5
## Tests  #@5
#@5
    python -m pip install -r requirements-dev.txt  #@5
    python -m pytest        # or: python -m unittest discover -s tests  #@5
    python -m coverage run -m unittest discover -s tests && python -m coverage report  #@5
#@13
## Performance report  #@13
#@13
    python scripts/perf.py [--requests 200] [--path /health] [--baseline MS] [--output FILE]  #@13
#@13
starts the service on a free loopback port, sends the requests one after another, and  #@13
prints one JSON object on standard output (and into FILE, with `--output`):  #@13
#@13
    {"metric": "p95_ms", "value": 1.8, "baseline": 20.0}  #@13
#@13
- `metric`: always `p95_ms`, the 95th percentile of the request latency;  #@13
- `value`: that percentile measured now, in milliseconds;  #@13
- `baseline`: the reference p95 from `perf-baseline.json` (or `--baseline`).  #@13
#@13
A regression, in per cent, is `(value - baseline) / baseline * 100`.  #@13
#@20
## Accessibility report  #@20
#@20
    python scripts/a11y.py [--path /ask ...] [--output axe.json]  #@20
#@20
starts the service on a free loopback port, reads the pages a person sees (the form,  #@20
an answer, a refusal) and checks their HTML against WCAG rules, named as axe-core  #@20
names them: `html-has-lang`, `document-title`, `landmark-one-main`,  #@20
`page-has-heading-one`, `image-alt`, `label`, `select-name`, `button-name`,  #@20
`link-name`, `duplicate-id`, `meta-viewport`. It writes a JSON list shaped like the  #@20
axe command line's results, one object per page, each with its `violations`.  #@20
#@20
It is not axe-core: no browser runs, so what needs one (colour contrast, focus order,  #@20
script) is not checked. It uses nothing but the standard library, so it runs offline.  #@20
#@13
## Security  #@13
#@13
Every response carries `X-Content-Type-Options`, `Content-Security-Policy`,  #@13
`Referrer-Policy` and `Cache-Control: no-store`. Questions longer than 500 characters  #@13
are refused with a 400.  #@13
"""

PYPROJECT = """\
[project]
name = "pepelugpt"
version = "0.0.0"  #@-6
version = "0.1.0"  #@6-14
version = "0.2.0"  #@14
description = "An oracle for cybersecurity questions (the Liftoff demo product)."
readme = "README.md"
requires-python = ">=3.10"
license = "MIT"
# The service uses the standard library only.
dependencies = []

[project.optional-dependencies]
# The tools of the tests and checks (pinned in requirements-dev.txt). Liftoff's licence
# gate reads this: their licences, and those of what they pull in, are checked.
dev = ["bandit", "coverage", "pytest"]
#@3
[tool.pytest.ini_options]  #@3
testpaths = ["tests"]  #@3
pythonpath = ["src"]  #@3
#@3
[tool.coverage.run]  #@3
branch = true  #@3
source = ["src"]  #@3
# The command-line launcher only starts the server; it is tried by hand, not unit tested.  #@3
omit = ["src/pepelugpt/__main__.py"]  #@3
"""

REQUIREMENTS_DEV = """\
# The tools of the tests and checks, pinned: `pip-audit -r requirements-dev.txt` audits them.
bandit==1.9.4
coverage==7.17.3
pytest==9.2.0
"""

INIT = '''\
"""PepeluGPT: an oracle for cybersecurity questions, standard library only."""

__version__ = "0.0.0"  #@-6
__version__ = "0.1.0"  #@6-14
__version__ = "0.2.0"  #@14
'''

MAIN = '''\
"""`python -m pepelugpt [--host HOST] [--port PORT]`: run the service until stopped."""

import argparse
import os

from pepelugpt import __version__
from pepelugpt.app import make_server


def main() -> None:
    parser = argparse.ArgumentParser(prog="pepelugpt")
    parser.add_argument("--host", default=os.environ.get("PEPELUGPT_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PEPELUGPT_PORT", 8000)))
    args = parser.parse_args()
    server = make_server(args.host, args.port, verbose=True)
    print(f"PepeluGPT {__version__} on http://{args.host}:{server.server_port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
'''

APP = '''\
"""The HTTP service: a standard-library server and its routes."""

import json
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit  #@-4
from urllib.parse import parse_qs, urlsplit  #@4

from pepelugpt import __version__
from pepelugpt.page import ask_page  #@20
from pepelugpt.security import SECURITY_HEADERS  #@11-12
from pepelugpt.security import SECURITY_HEADERS, question_problem  #@12
from pepelugpt.wisdom import answer  #@4-15
from pepelugpt.wisdom import MODES, answer  #@15
#@19
ROUTES = ["/", "/health", "/api/v1/oracle", "/api/v1/modes"]  #@19-20
ROUTES = ["/", "/health", "/ask", "/api/v1/oracle", "/api/v1/modes"]  #@20


def health() -> dict:
    return {"status": "ok", "version": __version__}


class Handler(BaseHTTPRequestHandler):
    server_version = "PepeluGPT"
    head_only = False  #@16

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path == "/health":  #@-19
        if url.path == "/":  #@19
            body = {"name": "PepeluGPT", "version": __version__, "routes": ROUTES}  #@19
            self.send_json(HTTPStatus.OK, body)  #@19
        elif url.path == "/health":  #@19
            self.send_json(HTTPStatus.OK, health())
        elif url.path == "/oracle":  #@4-10
        elif url.path == "/api/v1/oracle":  #@10
            self.oracle(parse_qs(url.query))  #@4
        elif url.path == "/api/v1/modes":  #@17
            self.send_json(HTTPStatus.OK, {"modes": list(MODES)})  #@17
        elif url.path == "/ask":  #@20
            self.ask(parse_qs(url.query))  #@20
        else:
            self.send_error(HTTPStatus.NOT_FOUND)  #@-7
            self.send_json(HTTPStatus.NOT_FOUND, {"error": "not found"})  #@7
#@16
    def do_HEAD(self):  #@16
        self.head_only = True  #@16
        self.do_GET()  #@16
#@4
    def oracle(self, params: dict) -> None:  #@4
        question = params.get("q", [""])[0].strip()  #@4
        if not question:  #@4-12
            self.send_json(HTTPStatus.BAD_REQUEST, {"error": "ask a question with ?q="})  #@4-12
        if problem := question_problem(question):  #@12
            self.send_json(HTTPStatus.BAD_REQUEST, {"error": problem})  #@12
            return  #@4
        mode = params.get("mode", ["oracle"])[0]  #@15
        if mode not in MODES:  #@15
            error = f"mode must be one of: {', '.join(MODES)}"  #@15
            self.send_json(HTTPStatus.BAD_REQUEST, {"error": error})  #@15
            return  #@15
        self.send_json(HTTPStatus.OK, {"question": question, "answer": answer(question)})  #@4-15
        body = {"question": question, "mode": mode, "answer": answer(question, mode)}  #@15
        self.send_json(HTTPStatus.OK, body)  #@15
#@20
    def ask(self, params: dict) -> None:  #@20
        """The oracle for people: the form, and the answer to what it was asked."""  #@20
        question = params.get("q", [""])[0].strip()  #@20
        mode = params.get("mode", ["oracle"])[0]  #@20
        problem = None  #@20
        if mode not in MODES:  #@20
            problem, mode = f"mode must be one of: {', '.join(MODES)}", "oracle"  #@20
        elif question:  #@20
            problem = question_problem(question)  #@20
        if problem:  #@20
            self.send_html(HTTPStatus.BAD_REQUEST, ask_page(question, mode, problem=problem))  #@20
        elif question:  #@20
            page = ask_page(question, mode, answer=answer(question, mode))  #@20
            self.send_html(HTTPStatus.OK, page)  #@20
        else:  #@20
            self.send_html(HTTPStatus.OK, ask_page("", mode))  #@20

    def send_json(self, status: HTTPStatus, body: dict) -> None:
        payload = json.dumps(body).encode()
        self.send_payload(status, "application/json", payload)  #@20
#@20
    def send_html(self, status: HTTPStatus, page: str) -> None:  #@20
        self.send_payload(status, "text/html; charset=utf-8", page.encode())  #@20
#@20
    def send_payload(self, status: HTTPStatus, content_type: str, payload: bytes) -> None:  #@20
        self.send_response(status)
        self.send_header("Content-Type", "application/json")  #@-20
        self.send_header("Content-Type", content_type)  #@20
        self.send_header("Content-Length", str(len(payload)))
        for name, value in SECURITY_HEADERS.items():  #@11
            self.send_header(name, value)  #@11
        self.end_headers()
        self.wfile.write(payload)  #@-16
        if not self.head_only:  #@16
            self.wfile.write(payload)  #@16

    def log_message(self, format, *args):
        if self.server.verbose:
            super().log_message(format, *args)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, verbose: bool = False):
        self.verbose = verbose
        super().__init__(address, Handler)


def make_server(host: str = "127.0.0.1", port: int = 8000, verbose: bool = False) -> Server:
    return Server((host, port), verbose=verbose)
'''

WISDOM = '''\
"""The oracle's sayings, and how a question picks one."""

import hashlib  #@18
from functools import lru_cache  #@9
#@9
SAYINGS = [
    "Patch early, patch often: the unpatched door is the one they knock on.",
    "Trust is a key; rotate it before someone copies it.",
    "Every log line is a star: alone it is noise, together a constellation.",
    "The strongest password is the one no human remembers and no machine guesses.",
    "Least privilege is not distrust; it is a smaller blast radius.",
    "Backups you have never restored are only hopes.",
    "An alert nobody reads is a whisper into the void.",
]
MODES = {  #@15
    "oracle": "\\N{CRYSTAL BALL} The Oracle says: {saying}",  #@15
    "compliance": "\\N{BAR CHART} Control guidance: {saying}",  #@15
    "cosmic": "\\N{MILKY WAY} The cosmos whispers: {saying}",  #@15
}  #@15


@lru_cache(maxsize=1024)  #@9
def answer(question: str) -> str:  #@-15
def answer(question: str, mode: str = "oracle") -> str:  #@15
    """The saying for a question: the same question always gets the same answer."""
    return SAYINGS[hash(question.strip().lower()) % len(SAYINGS)]  #@-15
    saying = SAYINGS[hash(question.strip().lower()) % len(SAYINGS)]  #@15-18
    digest = hashlib.sha256(question.strip().lower().encode()).digest()  #@18
    saying = SAYINGS[int.from_bytes(digest[:8], "big") % len(SAYINGS)]  #@18
    return MODES[mode].format(saying=saying)  #@15
'''

SECURITY = '''\
"""The service's security controls: response headers and limits on input."""

MAX_QUESTION_LENGTH = 500  #@12
#@12
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
#@12
#@12
def question_problem(question: str) -> str | None:  #@12
    """Why a question is refused, or None when the oracle may answer it."""  #@12
    if not question:  #@12
        return "ask a question with ?q="  #@12
    if len(question) > MAX_QUESTION_LENGTH:  #@12
        return f"a question may have at most {MAX_QUESTION_LENGTH} characters"  #@12
    return None  #@12
'''

TESTS = '''\
"""The service over a real loopback socket, standard library only.

Run `python -m pytest` from the repository root, or `python -m unittest discover -s tests`.
"""

import json
import os  #@18
from html import escape  #@20
import subprocess  #@18
import sys
import threading
import unittest
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import quote  #@20

SRC = Path(__file__).resolve().parent.parent / "src"
sys.path.insert(0, str(SRC))

from pepelugpt import __version__  # noqa: E402
from pepelugpt.app import make_server  # noqa: E402
from pepelugpt.security import SECURITY_HEADERS  # noqa: E402  #@11-12
from pepelugpt.security import MAX_QUESTION_LENGTH, SECURITY_HEADERS  # noqa: E402  #@12
from pepelugpt.wisdom import SAYINGS  # noqa: E402  #@4-15
from pepelugpt.wisdom import MODES, SAYINGS  # noqa: E402  #@15-20
from pepelugpt.wisdom import MODES, SAYINGS, answer  # noqa: E402  #@20


class ServiceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = make_server(port=0)
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def request(self, method, path):
        connection = HTTPConnection("127.0.0.1", self.server.server_port, timeout=5)
        try:
            connection.request(method, path)
            response = connection.getresponse()
            raw = response.read()
        finally:
            connection.close()
        is_json = response.getheader("Content-Type") == "application/json"
        return response.status, json.loads(raw) if is_json and raw else raw, response

    def test_health_reports_ok_and_the_version(self):
        status, body, _ = self.request("GET", "/health")
        self.assertEqual(status, 200)
        self.assertEqual(body, {"status": "ok", "version": __version__})
#@4
    def test_the_oracle_answers_a_question(self):  #@4
        status, body, _ = self.request("GET", "/oracle?q=Should+I+rotate+keys%3F")  #@4-10
        status, body, _ = self.request("GET", "/api/v1/oracle?q=Should+I+rotate+keys%3F")  #@10
        self.assertEqual(status, 200)  #@4
        self.assertEqual(body["question"], "Should I rotate keys?")  #@4
        self.assertIn(body["answer"], SAYINGS)  #@4-15
        self.assertTrue(body["answer"].endswith(tuple(SAYINGS)))  #@15
#@4
    def test_the_oracle_needs_a_question(self):  #@4
        status, body, _ = self.request("GET", "/oracle")  #@4-10
        status, body, _ = self.request("GET", "/api/v1/oracle")  #@10
        self.assertEqual(status, 400)  #@4
        self.assertIn("error", body)  #@4
#@7
    def test_an_unknown_path_is_a_json_404(self):  #@7
        status, body, _ = self.request("GET", "/nowhere")  #@7
        self.assertEqual(status, 404)  #@7
        self.assertEqual(body, {"error": "not found"})  #@7
#@10
    def test_the_old_oracle_path_is_gone(self):  #@10
        status, _, _ = self.request("GET", "/oracle?q=hello")  #@10
        self.assertEqual(status, 404)  #@10
#@11
    def test_every_response_carries_the_security_headers(self):  #@11
        for path in ("/health", "/nowhere"):  #@11
            _, _, response = self.request("GET", path)  #@11
            for name, value in SECURITY_HEADERS.items():  #@11
                self.assertEqual(response.getheader(name), value)  #@11
#@12
    def test_an_oversized_question_is_refused(self):  #@12
        question = "a" * (MAX_QUESTION_LENGTH + 1)  #@12
        status, body, _ = self.request("GET", f"/api/v1/oracle?q={question}")  #@12
        self.assertEqual(status, 400)  #@12
        self.assertIn("at most", body["error"])  #@12
#@15
    def test_each_mode_frames_the_answer(self):  #@15
        for mode, template in MODES.items():  #@15
            status, body, _ = self.request("GET", f"/api/v1/oracle?q=hello&mode={mode}")  #@15
            self.assertEqual(status, 200)  #@15
            self.assertEqual(body["mode"], mode)  #@15
            self.assertTrue(body["answer"].startswith(template.split("{")[0]))  #@15
        status, _, _ = self.request("GET", "/api/v1/oracle?q=hello&mode=shouting")  #@15
        self.assertEqual(status, 400)  #@15
#@16
    def test_head_on_health_answers_without_a_body(self):  #@16
        status, body, response = self.request("HEAD", "/health")  #@16
        self.assertEqual(status, 200)  #@16
        self.assertEqual(body, b"")  #@16
        self.assertGreater(int(response.getheader("Content-Length")), 0)  #@16
#@17
    def test_the_modes_are_listed(self):  #@17
        status, body, _ = self.request("GET", "/api/v1/modes")  #@17
        self.assertEqual(status, 200)  #@17
        self.assertEqual(body, {"modes": list(MODES)})  #@17
#@18
    def test_answers_are_the_same_in_every_process(self):  #@18
        script = "from pepelugpt.wisdom import answer; print(ascii(answer('Is MFA wise?')))"  #@18
        answers = set()  #@18
        for seed in ("1", "2", "3"):  #@18
            env = {**os.environ, "PYTHONPATH": str(SRC), "PYTHONHASHSEED": seed}  #@18
            command = [sys.executable, "-c", script]  #@18
            result = subprocess.run(command, env=env, capture_output=True, check=True)  #@18
            answers.add(result.stdout)  #@18
        self.assertEqual(len(answers), 1)  #@18
#@19
    def test_the_root_lists_the_routes(self):  #@19
        status, body, _ = self.request("GET", "/")  #@19
        self.assertEqual(status, 200)  #@19
        self.assertIn("/health", body["routes"])  #@19
        self.assertEqual(body["version"], __version__)  #@19
#@20
    def test_the_ask_page_answers_in_html(self):  #@20
        question = "Should I rotate keys?"  #@20
        status, page, response = self.request("GET", f"/ask?q={quote(question)}&mode=cosmic")  #@20
        self.assertEqual(status, 200)  #@20
        self.assertEqual(response.getheader("Content-Type"), "text/html; charset=utf-8")  #@20
        page = page.decode()  #@20
        self.assertIn('<html lang="en">', page)  #@20
        self.assertIn(escape(answer(question, "cosmic")), page)  #@20
        self.assertIn('<option value="cosmic" selected>', page)  #@20
#@20
    def test_the_ask_page_offers_the_form_before_a_question(self):  #@20
        status, page, _ = self.request("GET", "/ask")  #@20
        self.assertEqual(status, 200)  #@20
        self.assertIn('<label for="q">', page.decode())  #@20
        self.assertNotIn("The answer", page.decode())  #@20
#@20
    def test_the_ask_page_escapes_what_it_repeats(self):  #@20
        status, page, _ = self.request("GET", f"/ask?q={quote('<script>alert(1)</script>')}")  #@20
        self.assertEqual(status, 200)  #@20
        self.assertNotIn("<script>", page.decode())  #@20
        self.assertIn("&lt;script&gt;", page.decode())  #@20
#@20
    def test_the_ask_page_refuses_what_the_api_refuses(self):  #@20
        for query in ("q=" + "a" * (MAX_QUESTION_LENGTH + 1), "q=hello&mode=shouting"):  #@20
            status, page, _ = self.request("GET", f"/ask?{query}")  #@20
            self.assertEqual(status, 400, query)  #@20
            self.assertIn('<p role="alert">', page.decode())  #@20


if __name__ == "__main__":
    unittest.main()
'''

PERF = '''\
"""Measure the service's request latency and print one JSON object on standard output:

    {"metric": "p95_ms", "value": 1.8, "baseline": 20.0}

- metric: always "p95_ms", the 95th percentile of the request latency;
- value: that percentile measured now, in milliseconds, against a server started in this
  process on a free loopback port (requests sent one after another, after a warm-up);
- baseline: the reference p95 in milliseconds, from perf-baseline.json (or --baseline).

A regression, in per cent, is (value - baseline) / baseline * 100. With --output FILE the
same object is also written to FILE, for tools that read a report file.
"""

import argparse
import json
import math
import sys
import threading
import time
from http.client import HTTPConnection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from pepelugpt.app import make_server  # noqa: E402

WARM_UP = 20


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def measure(path: str, requests: int) -> float:
    server = make_server(port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    samples = []
    try:
        for n in range(WARM_UP + requests):
            connection = HTTPConnection("127.0.0.1", server.server_port, timeout=10)
            started = time.perf_counter()
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            elapsed = (time.perf_counter() - started) * 1000
            connection.close()
            if response.status != 200:
                sys.exit(f"GET {path} answered {response.status}")
            if n >= WARM_UP:
                samples.append(elapsed)
    finally:
        server.shutdown()
        server.server_close()
    return p95(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description="Print the p95 latency report as JSON.")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--path", default="/health")
    parser.add_argument("--baseline", type=float, help="default: perf-baseline.json")
    parser.add_argument("--output", type=Path, help="also write the report to this file")
    args = parser.parse_args()
    baseline = args.baseline
    if baseline is None:
        baseline = json.loads((ROOT / "perf-baseline.json").read_text())["p95_ms"]
    value = measure(args.path, max(1, args.requests))
    report = json.dumps({"metric": "p95_ms", "value": round(value, 3), "baseline": baseline})
    print(report)
    if args.output:
        args.output.write_text(report + "\\n")


if __name__ == "__main__":
    main()
'''

PERF_BASELINE = """\
{"p95_ms": 20.0, "measured_on": "the reference CI runner, 2026-07-20"}
"""

# How the release process deploys PepeluGPT on this machine (demo/repo_files/deploy/, kept
# as real files so they are linted): there from step 2 on, so every tag can be deployed.
_DEPLOY = Path(__file__).resolve().parent / "repo_files" / "deploy"
DEPLOY_SERVE = (_DEPLOY / "serve.py").read_text(encoding="utf-8")
DEPLOY_SWITCH = (_DEPLOY / "switch.py").read_text(encoding="utf-8")

PAGE = '''\
"""The oracle for people: one HTML page, /ask, with a form and the answer.

Plain HTML with no script and no style (the Content-Security-Policy allows neither), so
it reads the same in every browser and screen reader. Everything it repeats is escaped.
"""

from html import escape

from pepelugpt import __version__
from pepelugpt.wisdom import MODES

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
</head>
<body>
<main>
<h1>Ask PepeluGPT</h1>
<form method="get" action="/ask">
<p><label for="q">Your question</label>
<input id="q" name="q" type="text" maxlength="500" required value="{question}"></p>
<p><label for="mode">Personality</label>
<select id="mode" name="mode">{options}</select></p>
<p><button type="submit">Ask the oracle</button></p>
</form>
{outcome}
</main>
<footer><p>PepeluGPT {version} · <a href="/api/v1/modes">the modes as JSON</a></p></footer>
</body>
</html>
"""


def ask_page(question: str = "", mode: str = "oracle", *, answer="", problem="") -> str:
    """The page for `question` in `mode`: with its `answer`, or the `problem` that kept
    the oracle from answering, or neither (the empty form)."""
    options = "".join(
        f'<option value="{name}"{" selected" if name == mode else ""}>{name}</option>'
        for name in MODES
    )
    if problem:
        title, outcome = "Not answered", f'<p role="alert">{escape(problem)}</p>'
    elif answer:
        title = "The answer"
        outcome = (
            '<section aria-labelledby="answer"><h2 id="answer">The answer</h2>'
            f"<p>{escape(answer)}</p></section>"
        )
    else:
        title, outcome = "Ask", ""
    return PAGE.format(
        title=f"{title} · PepeluGPT",
        question=escape(question),
        options=options,
        outcome=outcome,
        version=__version__,
    )
'''

A11Y = '''\
"""Check the service's HTML pages for accessibility, and write what was found as axe-core
writes its results, so that a release gate can count the violations:

    python scripts/a11y.py [--path /ask ...] [--output axe.json]

It starts the service on a free loopback port, reads each page (by default the ones a
person sees: the empty form, an answer, a refusal) and gives one JSON list, one object per
page, as the axe command line does:

    [{"url": ..., "testEngine": {"name": "pepelugpt-a11y", "version": "1.0"},
      "violations": [{"id", "impact", "help", "nodes": [{"html", "target"}]}],
      "passes": [{"id", "help"}], "inapplicable": [{"id", "help"}]}]

on standard output, or into FILE with --output (then a line per page is printed).

It is not axe-core. It reads the HTML the server sends with the standard library's parser:
no browser runs, so no script runs and no style applies, and what needs them (colour
contrast, focus order) is not checked. The rules it checks are named by their axe-core
ids: html-has-lang, document-title, landmark-one-main, page-has-heading-one, image-alt,
label, select-name, button-name, link-name, duplicate-id, meta-viewport.

The exit code is 0 whatever it found (the gate counts the violations); a page that does
not answer with HTML ends it with an error and no report.
"""

import argparse
import json
import re
import sys
import threading
from collections import Counter
from datetime import datetime, timezone
from html.parser import HTMLParser
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from pepelugpt.app import make_server  # noqa: E402

ENGINE = {"name": "pepelugpt-a11y", "version": "1.0"}
PAGES = [
    "/ask",
    "/ask?q=" + quote("Should I rotate my keys?") + "&mode=cosmic",
    "/ask?q=" + "a" * 501,
]
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
NOT_LABELLED = {"hidden", "submit", "button", "reset", "image"}


class Element:
    def __init__(self, tag: str, attrs: list, html: str, parent):
        self.tag, self.attrs, self.html, self.parent = tag, dict(attrs), html, parent
        self.children: list = []  # elements and text, in document order

    def attr(self, name: str) -> str:
        return (self.attrs.get(name) or "").strip()

    def elements(self):
        for child in self.children:
            if isinstance(child, Element):
                yield child
                yield from child.elements()

    def text(self) -> str:
        """The text a screen reader reads for it: its text, and its images' alt text."""
        parts = []
        for child in self.children:
            if isinstance(child, str):
                parts.append(child)
            elif child.tag == "img":
                parts.append(child.attr("alt"))
            else:
                parts.append(child.text())
        return " ".join(" ".join(parts).split())

    def ancestors(self):
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def target(self) -> str:
        return f"#{self.attr('id')}" if self.attr("id") else self.tag


class Document(HTMLParser):
    """The page as a tree of elements (end tags a page forgot close what they must)."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.root = self.open = Element("#document", [], "", None)
        self.feed(html)
        self.close()
        self.all = list(self.root.elements())
        self.ids = {e.attr("id"): e for e in self.all if e.attr("id")}

    def handle_starttag(self, tag, attrs):
        element = Element(tag, attrs, self.get_starttag_text(), self.open)
        self.open.children.append(element)
        if tag not in VOID:
            self.open = element

    def handle_startendtag(self, tag, attrs):
        self.open.children.append(Element(tag, attrs, self.get_starttag_text(), self.open))

    def handle_endtag(self, tag):
        node = self.open
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:  # a stray end tag closes nothing
            self.open = node.parent

    def handle_data(self, data):
        self.open.children.append(data)

    def tagged(self, *tags: str) -> list:
        return [e for e in self.all if e.tag in tags]

    def name_of(self, element) -> str:
        """The accessible name of a form field or a control (the parts this check knows)."""
        if element.attr("aria-label"):
            return element.attr("aria-label")
        labelled_by = [self.ids.get(i) for i in element.attr("aria-labelledby").split()]
        if any(labelled_by):
            return " ".join(e.text() for e in labelled_by if e)
        if element.attr("id"):
            for label in self.tagged("label"):
                if label.attr("for") == element.attr("id") and label.text():
                    return label.text()
        for ancestor in element.ancestors():
            if ancestor.tag == "label" and ancestor.text():
                return ancestor.text()
        return element.attr("title")


# --- The rules: (id, impact, help, check); check(document) -> (nodes checked, failing) ---
RULES = []


def rule(rule_id: str, impact: str, help_text: str):
    def register(check):
        RULES.append((rule_id, impact, help_text, check))
        return check

    return register


@rule("html-has-lang", "serious", "<html> element must have a lang attribute")
def html_has_lang(doc):
    html = doc.tagged("html")
    if not html:
        return ["html"], ["<html>"]
    return html, [e for e in html if not e.attr("lang")]


@rule("document-title", "serious", "Documents must have <title> element to aid in navigation")
def document_title(doc):
    titled = any(e.text() for e in doc.tagged("title"))
    return ["html"], [] if titled else ["<head>"]


@rule("landmark-one-main", "moderate", "Document should have one main landmark")
def landmark_one_main(doc):
    mains = [e for e in doc.all if e.tag == "main" or e.attr("role") == "main"]
    if not mains:
        return ["html"], ["<body>"]
    return mains, mains[1:]  # the second and later ones are too many


@rule("page-has-heading-one", "moderate", "Page should contain a level-one heading")
def page_has_heading_one(doc):
    return ["html"], [] if any(e.text() for e in doc.tagged("h1")) else ["<body>"]


@rule("image-alt", "critical", "Images must have alternative text")
def image_alt(doc):
    images = doc.tagged("img")
    decorative = {"presentation", "none"}
    failing = [
        e
        for e in images
        if "alt" not in e.attrs and not e.attr("aria-label") and e.attr("role") not in decorative
    ]
    return images, failing


@rule("label", "critical", "Form elements must have labels")
def form_field_label(doc):
    fields = [
        e
        for e in doc.tagged("input", "textarea")
        if e.tag == "textarea" or (e.attr("type") or "text").lower() not in NOT_LABELLED
    ]
    return fields, [e for e in fields if not doc.name_of(e)]


@rule("select-name", "critical", "Select element must have an accessible name")
def select_name(doc):
    selects = doc.tagged("select")
    return selects, [e for e in selects if not doc.name_of(e)]


@rule("button-name", "critical", "Buttons must have discernible text")
def button_name(doc):
    buttons = doc.tagged("button")
    inputs = [e for e in doc.tagged("input") if e.attr("type").lower() == "button"]
    failing = [e for e in buttons if not (e.text() or doc.name_of(e))]
    failing += [e for e in inputs if not (e.attr("value") or doc.name_of(e))]
    return buttons + inputs, failing


@rule("link-name", "serious", "Links must have discernible text")
def link_name(doc):
    links = [e for e in doc.tagged("a") if "href" in e.attrs]
    return links, [e for e in links if not (e.text() or doc.name_of(e))]


@rule("duplicate-id", "minor", "id attribute value must be unique")
def duplicate_id(doc):
    with_id = [e for e in doc.all if e.attr("id")]
    counts = Counter(e.attr("id") for e in with_id)
    return with_id, [e for e in with_id if counts[e.attr("id")] > 1]


@rule("meta-viewport", "critical", "Zooming and scaling must not be disabled")
def meta_viewport(doc):
    metas = [e for e in doc.tagged("meta") if e.attr("name").lower() == "viewport"]
    failing = []
    for meta in metas:
        content = meta.attr("content").lower().replace(" ", "")
        scale = re.search(r"maximum-scale=([0-9.]+)", content)
        if "user-scalable=no" in content or (scale and float(scale.group(1)) < 2):
            failing.append(meta)
    return metas, failing


def _node(node) -> dict:
    if isinstance(node, str):
        return {"html": node, "target": ["html"]}
    return {"html": node.html, "target": [node.target()]}


def check(url: str, html: str) -> dict:
    """One page's results, shaped as axe-core shapes them."""
    doc = Document(html)
    result = {
        "url": url,
        "timestamp": datetime.now(timezone.utc).isoformat(),
        "testEngine": ENGINE,
        "violations": [],
        "passes": [],
        "inapplicable": [],
    }
    for rule_id, impact, help_text, rule_check in RULES:
        checked, failing = rule_check(doc)
        entry = {"id": rule_id, "impact": impact, "help": help_text}
        if failing:
            nodes = [_node(n) for n in failing]
            result["violations"].append({**entry, "nodes": nodes})
        elif checked:
            result["passes"].append({"id": rule_id, "help": help_text})
        else:
            result["inapplicable"].append({"id": rule_id, "help": help_text})
    return result


def fetch(port: int, path: str) -> str:
    connection = HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    content_type = response.getheader("Content-Type") or "no content type"
    if not content_type.startswith("text/html"):
        sys.exit(f"GET {path} answered {response.status} with {content_type}, not an HTML page")
    return body.decode("utf-8", errors="replace")


def main() -> None:
    parser = argparse.ArgumentParser(description="Check the HTML pages for accessibility.")
    parser.add_argument("--path", action="append", help="a page to check (repeatable)")
    parser.add_argument("--output", type=Path, help="write the report to this file")
    args = parser.parse_args()
    server = make_server(port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_port
    try:
        results = [
            check(f"http://127.0.0.1:{port}{path}", fetch(port, path))
            for path in args.path or PAGES
        ]
    finally:
        server.shutdown()
        server.server_close()
    report = json.dumps(results, indent=1)
    if not args.output:
        print(report)
        return
    args.output.write_text(report + "\\n")
    for path, result in zip(args.path or PAGES, results):
        shown = path if len(path) <= 60 else path[:57] + "..."
        found = ", ".join(v["id"] for v in result["violations"]) or "none"
        print(f"{shown}: {len(result['passes'])} rules passed; violations: {found}")


if __name__ == "__main__":
    main()
'''

# path -> (the step that adds the file, its text with markers)
FILES: dict[str, tuple[int, str]] = {
    ".gitignore": (1, GITIGNORE),
    "README.md": (1, README),
    "pyproject.toml": (1, PYPROJECT),
    "requirements-dev.txt": (1, REQUIREMENTS_DEV),
    "src/pepelugpt/__init__.py": (1, INIT),
    "src/pepelugpt/__main__.py": (2, MAIN),
    "src/pepelugpt/app.py": (2, APP),
    "tests/test_app.py": (3, TESTS),
    "src/pepelugpt/wisdom.py": (4, WISDOM),
    "scripts/perf.py": (8, PERF),
    "perf-baseline.json": (8, PERF_BASELINE),
    "src/pepelugpt/security.py": (11, SECURITY),
    "deploy/serve.py": (2, DEPLOY_SERVE),
    "deploy/switch.py": (2, DEPLOY_SWITCH),
    "src/pepelugpt/page.py": (20, PAGE),
    "scripts/a11y.py": (20, A11Y),
}

_MARKER = re.compile(r"\s*#@(\d*)(?:-(\d+))?$")


def file_at(text: str, step: int) -> str:
    """The file's content as of `step`: lines whose marker includes it, markers removed."""
    lines = []
    for line in text.splitlines():
        marker = _MARKER.search(line)
        if marker is None:
            lines.append(line)
            continue
        since = int(marker.group(1) or 0)
        until = int(marker.group(2)) if marker.group(2) else None
        if since <= step and (until is None or step < until):
            lines.append(line[: marker.start()])
    return "\n".join(lines) + "\n"


def files_at(step: int) -> dict[str, str]:
    """Every file of the repository as of `step`, by path."""
    return {path: file_at(text, step) for path, (since, text) in FILES.items() if since <= step}
