"""Real parts for deployments: a git remote whose commits carry a deploy script, a health
service on 127.0.0.1 that answers with the version a deploy wrote, and releases ready to
deploy. The deploy script and the service share a folder of state files:

- `<slot>.version`: what the deploy command wrote for a slot ("staging", "prod-blue", ...);
  "broken" makes that slot answer 503;
- `active`: the colour the switch command chose; the public slot answers from it.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import git
import pytest
from django.utils import timezone

from deployments.services import environment_create, health_check_set
from releases.models import Release
from tests.factories import ProjectFactory, ReleaseFactory
from tests.helpers import free_port

DEPLOY_SCRIPT = """\
import os, pathlib, sys, time
state = pathlib.Path(sys.argv[1])
slot = sys.argv[2]
color = os.environ.get("LIFTOFF_COLOR", "")
if color:
    slot = f"{slot}-{color}"
token = os.environ.get("API_TOKEN", "-")
print("deploying", os.environ["LIFTOFF_VERSION"], "to", slot, "token", token, flush=True)
print("rollback" if os.environ.get("LIFTOFF_ROLLBACK") == "1" else "forward")
time.sleep(float(os.environ.get("DEPLOY_SLEEP", "0")))
(state / f"{slot}.version").write_text(WRITES)
"""

SWITCH_SCRIPT = """\
import os, pathlib, sys
(pathlib.Path(sys.argv[1]) / "active").write_text(os.environ["LIFTOFF_COLOR"])
print("switched to", os.environ["LIFTOFF_COLOR"])
"""


class HealthService:
    """One HTTP server per slot on 127.0.0.1; each answers /health with the slot's version."""

    def __init__(self, state: Path):
        self.state = state
        self.servers: dict[str, ThreadingHTTPServer] = {}

    def start(self, slot: str) -> str:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                name = slot
                if slot == "prod":
                    active = service.state / "active"
                    name = f"prod-{active.read_text() if active.exists() else 'none'}"
                path = service.state / f"{name}.version"
                version = path.read_text() if path.exists() else ""
                ok = bool(version) and version != "broken"
                body = json.dumps({"version": version, "status": "ok" if ok else "down"})
                self.send_response(200 if ok else 503)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.servers[slot] = server
        return f"http://127.0.0.1:{server.server_address[1]}"

    def stop(self):
        for server in self.servers.values():
            server.shutdown()
            server.server_close()


@pytest.fixture
def health_service(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    service = HealthService(state)
    yield service
    service.stop()


def _commit(work: git.Repo, writes: str, message: str) -> str:
    root = Path(work.working_dir)
    (root / "deploy.py").write_text(DEPLOY_SCRIPT.replace("WRITES", writes))
    (root / "switch.py").write_text(SWITCH_SCRIPT)
    work.index.add(["deploy.py", "switch.py"])
    commit = work.index.commit(message)
    work.git.push("origin", "HEAD:refs/heads/main")
    return commit.hexsha


@pytest.fixture
def shop(git_remote, manager):
    """A project whose remote has two commits: `good` deploys its version, `broken` writes
    what makes the service answer 503. Two releases, ready, one on each."""
    bare, work = git_remote
    good = _commit(work, 'os.environ["LIFTOFF_VERSION"]', "feat: deploy script")
    broken = _commit(work, '"broken"', "fix: a change that breaks the service")
    project = ProjectFactory(slug="shop", name="Shop", repo_url=str(bare))

    def release(version, commit, **facts):
        return ReleaseFactory(
            project=project,
            version=version,
            release_manager=manager,
            status=facts.pop("status", "ready"),
            head_commit=commit,
            prepared_at=timezone.now(),
            branch=f"release/v{version}",
            tag=f"v{version}",
            **facts,
        )

    return {
        "project": project,
        "bare": bare,
        "good": release("1.0.0", good),
        "broken": release("1.1.0", broken),
        "good_commit": good,
        "broken_commit": broken,
        "release": release,
    }


def command_environment(project, health_service, *, name, order, phase, url_slot, **extra):
    state = str(health_service.state)
    environment, _secret = environment_create(
        project=project,
        actor=None,
        name=name,
        order=order,
        phase=phase,
        strategy="command",
        deploy_commands=[["{python}", "deploy.py", state, url_slot]],
        **extra,
    )
    base = health_service.start(url_slot)
    health_check_set(
        environment=environment,
        actor=None,
        checks=[
            {
                "url": f"{base}/health",
                "json_field": "version",
                "json_value": "{version}",
                "retries": 1,
                "timeout_seconds": 2,
            }
        ],
    )
    return environment


def reload(obj):
    return type(obj).objects.get(pk=obj.pk)


__all__ = ["Release", "command_environment", "reload"]
