"""Run PepeluGPT on this machine the way the release process deploys it.

Standard library only, so it runs wherever Python does (and offline). Subcommands:

- `deploy`: install this checkout's `deploy/` and `src/` under RUN_DIR/<instance>/,
  stop the instance that ran there before (by the PID in RUN_DIR/<instance>.pid, and only
  if that process's command line names that PID file), start the new one detached (its
  own session: it outlives this command) and wait until it answers its health endpoints
  with the version. The instance is LIFTOFF_ENVIRONMENT, plus LIFTOFF_COLOR when set
  (blue-green: --blue-port and --green-port name the colours' ports).
- `serve`: the service itself: /health/oracle, /health/compliance and /health/cosmic
  answer {"status": "ok", "version": ...}; / answers a small page.
- `proxy`: the blue-green switch, forwarding every request to the colour named in a file
  that `deploy/switch.py` writes (read per request, so a switch is one atomic rename).
- `stop`: stop every instance recorded in RUN_DIR (what `make run` does on Ctrl-C).

The release reaches it through LIFTOFF_VERSION, LIFTOFF_ENVIRONMENT and LIFTOFF_COLOR.
"""

import argparse
import html
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODES = ("oracle", "compliance", "cosmic")
READY_SECONDS = 20
STOP_SECONDS = 5


# --- Processes, by PID file ---------------------------------------------------------------
def _ours(pid: int, pid_file: Path) -> bool:
    """The process `pid` is alive and was started for `pid_file` (its command line names
    it): a PID reused by some other program is never signalled."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return str(pid_file).encode() in cmdline


def running_pid(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _ours(pid, pid_file) else None


def stop(pid_file: Path) -> bool:
    """Stop the process recorded in `pid_file` (TERM, then KILL after a while); remove
    the file. True if something was stopped."""
    pid = running_pid(pid_file)
    stopped = False
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        while _ours(pid, pid_file) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _ours(pid, pid_file):
            os.kill(pid, signal.SIGKILL)
            while _ours(pid, pid_file):
                time.sleep(0.05)
        stopped = True
    pid_file.unlink(missing_ok=True)
    return stopped


def start(argv: list[str], *, pid_file: Path, log: Path, cwd: Path) -> subprocess.Popen:
    """Start `argv` detached: its own session, no terminal, output to `log`."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pid_file.write_text(f"{process.pid}\n")
    return process


def get(port: int, path: str, timeout: float = 2) -> tuple[int, dict, dict]:
    """(status, JSON body or {}, headers) of GET http://127.0.0.1:port/path."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        raw = response.read()
        try:
            body = json.loads(raw)
        except ValueError:
            body = {}
        return response.status, body if isinstance(body, dict) else {}, dict(response.headers)
    finally:
        connection.close()


def wait_until(ready, *, process: subprocess.Popen | None, what: str, log: Path) -> None:
    deadline = time.monotonic() + READY_SECONDS
    problem = "no answer"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            break
        try:
            problem = ready()
        except OSError as error:
            problem = str(error)
        if not problem:
            return
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
    sys.exit(f"{what} is not ready: {problem}\n{tail}")


# --- deploy --------------------------------------------------------------------------------
def instance_name(environment: str, color: str) -> str:
    return f"{environment}-{color}" if color else environment


def deploy(args) -> None:
    version = os.environ.get("LIFTOFF_VERSION", "")
    environment = os.environ.get("LIFTOFF_ENVIRONMENT", "")
    color = os.environ.get("LIFTOFF_COLOR", "")
    if not version or not environment:
        sys.exit("LIFTOFF_VERSION and LIFTOFF_ENVIRONMENT are needed.")
    port = {"blue": args.blue_port, "green": args.green_port}.get(color, args.port)
    if not port:
        sys.exit(f"No port for {instance_name(environment, color)}: see --port, --blue-port.")
    run_dir = Path(args.run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    name = instance_name(environment, color)
    pid_file = run_dir / f"{name}.pid"
    if stop(pid_file):
        print(f"Stopped the previous {name}")
    # Installed apart from the checkout (which goes when the deployment ends).
    home = run_dir / name
    shutil.rmtree(home, ignore_errors=True)
    for part in ("deploy", "src"):
        if (HERE.parent / part).is_dir():
            shutil.copytree(HERE.parent / part, home / part)
    log = run_dir / f"{name}.log"
    argv = [sys.executable, str(home / "deploy" / "serve.py"), "serve", "--port", str(port)]
    argv += ["--version", version, "--name", name, "--pid-file", str(pid_file)]
    process = start(argv, pid_file=pid_file, log=log, cwd=home)

    def ready() -> str:
        status, body, _ = get(port, "/health/oracle")
        if status == 200 and body.get("version") == version:
            return ""
        return f"/health/oracle answered {status} {body}"

    wait_until(ready, process=process, what=f"{name} on port {port}", log=log)
    print(f"{name} runs v{version} on http://127.0.0.1:{port}/ (PID {process.pid})")


# --- serve ---------------------------------------------------------------------------------
def package_version() -> str:
    init = HERE.parent / "src" / "pepelugpt" / "__init__.py"
    for line in init.read_text().splitlines() if init.exists() else []:
        if line.startswith("__version__"):
            return line.split("=", 1)[1].strip().strip("\"'")
    return ""


class Service(BaseHTTPRequestHandler):
    server_version = "PepeluGPT"

    def do_GET(self):
        info = self.server.info
        path = self.path.split("?", 1)[0]
        if path.startswith("/health/") and path.removeprefix("/health/") in MODES:
            mode = path.removeprefix("/health/")
            self.send(HTTPStatus.OK, "application/json", json.dumps({**info, "mode": mode}))
        elif path in ("/health", "/healthz"):
            self.send(HTTPStatus.OK, "application/json", json.dumps(info))
        elif path == "/":
            title = html.escape(f"PepeluGPT v{info['version']} ({info['instance']})")
            links = "".join(f'<li><a href="/health/{m}">/health/{m}</a></li>' for m in MODES)
            page = (
                f'<!doctype html><html lang="en"><meta charset="utf-8"><title>{title}</title>'
                f"<h1>{title}</h1><p>The oracle is awake.</p><ul>{links}</ul></html>"
            )
            self.send(HTTPStatus.OK, "text/html; charset=utf-8", page)
        else:
            self.send(HTTPStatus.NOT_FOUND, "application/json", '{"error": "not found"}')

    def send(self, status, content_type: str, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Demo-Instance", self.server.info["instance"])
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_HEAD = do_GET

    def log_message(self, format, *args):
        pass


def serve(args) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Service)
    server.info = {
        "status": "ok",
        "version": args.version,
        "package_version": package_version(),
        "instance": args.name,
        "pid": os.getpid(),
    }
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"{args.name}: v{args.version} on port {args.port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


# --- proxy (the blue-green switch) --------------------------------------------------------
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "trailer"}


class Switch(BaseHTTPRequestHandler):
    server_version = "PepeluGPT-switch"

    def forward(self):
        settings = self.server.settings
        try:
            color = Path(settings.color_file).read_text().strip()
        except OSError:
            color = ""
        port = {"blue": settings.blue_port, "green": settings.green_port}.get(color)
        if port is None:
            return self.answer(503, b'{"error": "no colour is active yet"}', color)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        upstream = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            response = upstream.getresponse()
            data = response.read()
        except OSError as error:
            message = json.dumps({"error": f"{color} does not answer: {error}"}).encode()
            return self.answer(502, message, color)
        finally:
            upstream.close()
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in HOP_BY_HOP | {"content-length", "server", "date"}:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Demo-Color", color)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_HEAD = forward

    def answer(self, status: int, data: bytes, color: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Demo-Color", color or "none")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_message(self, format, *args):
        pass


def proxy(args) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Switch)
    server.settings = args
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"switch on port {args.port}, reading {args.color_file}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


def stop_all(args) -> None:
    for pid_file in sorted(Path(args.run_dir).glob("*.pid")):
        if stop(pid_file):
            print(f"Stopped {pid_file.stem}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("deploy", help="install and start this checkout, then wait")
    one.add_argument("--run-dir", required=True)
    one.add_argument("--port", type=int, help="the port of an environment without colours")
    one.add_argument("--blue-port", type=int)
    one.add_argument("--green-port", type=int)
    one.set_defaults(handler=deploy)
    one = commands.add_parser("serve", help="the service itself (deploy starts it)")
    one.add_argument("--port", type=int, required=True)
    one.add_argument("--version", required=True)
    one.add_argument("--name", default="pepelugpt")
    one.add_argument("--pid-file", default="")
    one.set_defaults(handler=serve)
    one = commands.add_parser("proxy", help="the blue-green switch (switch.py starts it)")
    one.add_argument("--port", type=int, required=True)
    one.add_argument("--color-file", required=True)
    one.add_argument("--blue-port", type=int, required=True)
    one.add_argument("--green-port", type=int, required=True)
    one.add_argument("--pid-file", default="")
    one.set_defaults(handler=proxy)
    one = commands.add_parser("stop", help="stop every instance recorded in --run-dir")
    one.add_argument("--run-dir", required=True)
    one.set_defaults(handler=stop_all)
    args = parser.parse_args()
    args.handler(args)


if __name__ == "__main__":
    main()
