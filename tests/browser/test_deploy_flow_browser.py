"""The issue's demo flow, in a real Chromium with a real worker: after the demo's baseline
(v0.2.0 really deployed to staging and blue production, as `make run` does), the manager
takes v0.3.0 through staging to production (green, then the switch) and rolls it back
with the emergency rollback (the switch answers from blue again). Every demo service is
stopped by its PID at the end. The suite's slow end-to-end test: one test, one seed."""

import http.client
import json
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from checklists.models import ChecklistItem
from checklists.services import checklist_complete_all, checklist_item_update
from demo.services import demo_baseline_ensure, demo_run_dir, demo_seed
from deployments.health import environments_check_health
from deployments.models import Environment
from deployments.selectors import environment_current
from gates.models import GateKind
from gates.services import approval_record, waiver_grant
from liftoff.devserver import demo_services_stop
from liftoff.roles import Role
from releases.models import Release, ReleaseStatus
from releases.policy import release_blockers
from tests.factories import UserFactory
from tests.helpers import axe_violations, free_port, htmx_settled, wait_for

pytestmark = [
    pytest.mark.worker,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

PASSWORD = "demo-flow-password"
RUN_SECONDS = 120_000  # ms: a deployment clones, starts a service and verifies for 5 s


def _get(port: int, path: str) -> tuple[int, dict, str]:
    """(status, JSON body, the colour the switch answered from)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, json.loads(response.read()), response.getheader("X-Demo-Color")
    finally:
        connection.close()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_bytes().split(b")")[-1].split()[0]
    except OSError:
        return False
    return state != b"Z"


def _axe_light_and_dark(page):
    htmx_settled(page)
    assert axe_violations(page) == []
    page.emulate_media(color_scheme="dark")
    assert axe_violations(page) == []
    page.emulate_media(color_scheme="light")


@pytest.fixture
def demo(settings, tmp_path):
    """The demo seeded into a data folder of the test's own, its services on free ports;
    every service a deployment started is stopped by its PID at the end."""
    settings.DATA_DIR = tmp_path / "data"
    ports = {name: free_port() for name in ("STAGING", "PRODUCTION", "BLUE", "GREEN")}
    for name, port in ports.items():
        setattr(settings, f"DEMO_{name}_PORT", port)
    seed = demo_seed(root=settings.DATA_DIR / "demo", with_users=True, password=PASSWORD)
    run_dir = demo_run_dir()
    yield seed, ports, run_dir
    demo_services_stop(run_dir)


def _ready_for_production(release: Release, *, manager, head: str) -> Release:
    """v0.3.0 as a team leaves it once validated and signed off: ready, every gate passed
    or waived, every checklist ticked (through the services; only the preparation's
    outcome, the head commit and the status, is written directly: preparing is a run
    of its own, tested elsewhere)."""
    Release.objects.filter(pk=release.pk).update(
        status=ReleaseStatus.READY, head_commit=head, prepared_at=timezone.now()
    )
    release.refresh_from_db()
    approvers = [UserFactory(username=f"approver{i}", role=Role.APPROVER) for i in range(1, 4)]
    for gate in release.project.quality_gates.all():
        if gate.kind == GateKind.AUTOMATED:
            waiver_grant(
                release=release,
                gate=gate,
                actor=approvers[0],
                reason="Measured by the validation run of the demo; not what this test is about.",
            )
        else:
            for approver in approvers[: gate.required_approvals]:
                approval_record(release=release, gate=gate, actor=approver, decision="approve")
    for checklist in release.checklists.all():
        checklist_complete_all(checklist=checklist, actor=manager)
    for item in ChecklistItem.objects.filter(release=release, result="").exclude(kind="check"):
        checklist_item_update(item=item, actor=manager, result="pass")
    assert release_blockers(release=release, to=ReleaseStatus.PRODUCTION) == []
    return release


def _wait_verified(page) -> None:
    expect(page.locator("#deployment-main .badge-ok")).to_have_text("Verified", timeout=RUN_SECONDS)


def test_the_manager_takes_v030_to_production_and_rolls_it_back(
    demo, start_worker, page, live_server, login_page, csp_errors
):
    seed, ports, run_dir = demo
    project = seed.project.project
    manager = get_user_model().objects.get(username="manager")
    staging = Environment.objects.get(project=project, name="staging")
    production = Environment.objects.get(project=project, name="production")
    start_worker()

    # What `make run` does once the worker is up: v0.2.0 really runs, blue in production.
    steps = demo_baseline_ensure(project=project, timeout=120)
    assert [(s.environment, s.outcome) for s in steps] == [
        ("staging", "deployed"),
        ("production", "deployed"),
    ], steps
    status, body, colour = _get(ports["PRODUCTION"], "/health/oracle")
    assert (status, body["version"], colour) == (200, "0.2.0", "blue")
    assert [s.outcome for s in demo_baseline_ensure(project=project)] == ["running", "running"]

    release = _ready_for_production(
        Release.objects.get(project=project, version="0.3.0"),
        manager=manager,
        head=environment_current(environment=production).commit,
    )
    login_page(manager, PASSWORD)

    # Staging: the release page's primary action, then the deployment's live progress.
    page.goto(f"{live_server.url}{reverse('releases:release-detail', args=[release.pk])}")
    page.locator(".actions").get_by_role("button", name="Deploy to staging").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("v0.3.0 to staging")
    _wait_verified(page)
    assert _get(ports["STAGING"], "/health/cosmic")[1]["version"] == "0.3.0"

    # Production: blue-green, green this time, then the switch.
    page.get_by_role("link", name="v0.3.0", exact=True).first.click()
    page.locator(".actions").get_by_role("button", name="Deploy to production").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("v0.3.0 to production")
    _wait_verified(page)
    expect(page.locator("#deployment-main")).to_contain_text("(green)")
    _axe_light_and_dark(page)
    release.refresh_from_db()
    assert release.status == ReleaseStatus.RELEASED
    status, body, colour = _get(ports["PRODUCTION"], "/health/oracle")
    assert (status, body["version"], colour) == (200, "0.3.0", "green")

    # The board: v0.3.0 on production, healthy (beat's periodic check, asked once here).
    environments_check_health(environments=[staging, production])
    page.goto(f"{live_server.url}/deployments/")
    board = page.locator(f"#environment-{production.pk}")
    expect(board).to_contain_text("v0.3.0")
    expect(board).to_contain_text("Healthy")
    _axe_light_and_dark(page)

    # Emergency rollback from the environment page, confirmed: blue again, no redeploy.
    blue_pid = int((run_dir / "production-blue.pid").read_text())
    page.goto(f"{live_server.url}/deployments/{project.slug}/production/")
    _axe_light_and_dark(page)
    page.get_by_role("link", name="Emergency rollback to v0.2.0…").click()
    page.get_by_role("button", name="Roll back to v0.2.0").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Rollback")
    _wait_verified(page)
    status, body, colour = _get(ports["PRODUCTION"], "/health/oracle")
    assert (status, body["version"], colour, body["pid"]) == (200, "0.2.0", "blue", blue_pid)
    page.get_by_role("link", name="production", exact=True).first.click()
    expect(page.locator("main")).to_contain_text("v0.2.0")
    release.refresh_from_db()
    assert release.status == ReleaseStatus.ROLLED_BACK
    page.goto(f"{live_server.url}{reverse('releases:release-detail', args=[release.pk])}")
    expect(page.locator("main")).to_contain_text("Rolled back")
    assert csp_errors == []

    # Every demo service stopped by its PID: none left.
    pids = [int(p.read_text()) for p in run_dir.glob("*.pid")]
    assert len(pids) == 4
    demo_services_stop(run_dir)
    # A process's command line empties as it exits, a moment before it is gone.
    wait_for(lambda: not any(_alive(pid) for pid in pids), timeout=5, message="services gone")
