"""Release pages: list, new, detail, notes editor; access and constant query counts."""

import pytest

from releases.models import Release
from releases.services import release_create
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def _releases(project, manager, count):
    while Release.objects.filter(project=project).count() < count:
        n = Release.objects.filter(project=project).count()
        release_create(
            actor=manager,
            project=project,
            release_type="minor",
            version=f"1.{n}.0",
            codename=f"Name {n}",
        )


@pytest.mark.parametrize("path", ["/releases/", "/releases/{id}/"])
def test_release_pages_make_constant_queries(
    client_as, manager, path, django_assert_max_num_queries
):
    project = ProjectFactory()
    _releases(project, manager, 1)
    client = client_as(manager)
    first = Release.objects.order_by("pk").first()
    url = path.format(id=first.pk)
    client.get(url)
    for size in (3, 30):
        _releases(project, manager, size)
        # What the page reads, and before it the release's facts and the digest of its
        # rows (liftoff.kept): each size changes them, so this is the page rendered anew.
        # 13, and one for the layout's critical-incident banner (incidents).
        with django_assert_max_num_queries(14):
            assert client.get(url).status_code == 200


def test_every_role_reads_releases_and_only_managers_act(client_as, make_user, manager):
    from liftoff.roles import Role

    project = ProjectFactory()
    release = release_create(
        actor=manager,
        project=project,
        release_type="minor",
        version="0.3.0",
        codename="Digital Oracle",
    )
    for role in Role:
        client = client_as(make_user(role))
        page = client.get(f"/releases/{release.pk}/").content.decode()
        assert "v0.3.0 “Digital Oracle”" in page
        can_act = role in {Role.ADMIN, Role.RELEASE_MANAGER}
        assert ("Prepare</button>" in page) == can_act, role
        assert client.get("/releases/").status_code == 200
    stakeholder = client_as(make_user(Role.STAKEHOLDER))
    assert stakeholder.post(f"/releases/{release.pk}/prepare/").status_code == 403
    assert (
        stakeholder.post(f"/releases/{release.pk}/transition/", {"to": "cancelled"}).status_code
        == 403
    )
    assert stakeholder.get("/releases/new/").status_code == 403


def test_new_release_form_proposes_and_re_renders_errors(client_as, manager):
    ProjectFactory(slug="svc", codename_pool=["Digital Oracle"])
    client = client_as(manager)
    page = client.get("/releases/new/?project=svc&type=major").content.decode()
    assert 'value="0.1.0"' in page and 'value="Digital Oracle"' in page
    bad = client.post(
        "/releases/new/", {"project": "svc", "type": "minor", "version": "1.2", "codename": "X"}
    )
    assert bad.status_code == 400
    assert "is not a semantic version" in bad.content.decode()
    good = client.post(
        "/releases/new/",
        {"project": "svc", "type": "minor", "version": "0.1.0", "codename": "Digital Oracle"},
    )
    assert good.status_code == 302
    partial = client.get(
        "/releases/new/?project=svc&type=patch", headers={"HX-Request": "true"}
    ).content.decode()
    assert partial.lstrip().startswith('<div id="release-plan"')
    assert '<form id="release-form"' in partial


def test_release_list_filters_and_search(client_as, manager):
    project = ProjectFactory(slug="a")
    other = ProjectFactory(slug="b")
    release_create(
        actor=manager,
        project=project,
        release_type="minor",
        version="0.3.0",
        codename="Digital Oracle",
    )
    release_create(
        actor=manager,
        project=other,
        release_type="major",
        version="1.0.0",
        codename="Stellar Navigator",
    )
    client = client_as(manager)
    assert "Stellar" not in client.get("/releases/?project=a").content.decode()
    body = client.get("/releases/?q=oracle").content.decode()
    assert "Digital Oracle" in body and "Stellar" not in body
    body = client.get("/releases/?type=major").content.decode()
    assert "Stellar" in body and "Digital Oracle" not in body


def test_notes_preview_is_sanitised_and_saving_is_audited(client_as, manager):
    from liftoff.models import AuditEvent

    release = release_create(
        actor=manager, project=ProjectFactory(), release_type="minor", version="0.3.0", codename="X"
    )
    client = client_as(manager)
    preview = client.post(
        f"/releases/{release.pk}/notes/preview/",
        {"markdown": "# Hi\n<script>alert(1)</script>\n[x](javascript:alert(1))"},
        headers={"HX-Request": "true"},
    ).content.decode()
    assert "<h1>Hi</h1>" in preview
    assert "<script>" not in preview and "javascript:" not in preview
    markdown = "## Notes\n<img src=x onerror=alert(1)>"
    saved = client.post(f"/releases/{release.pk}/notes/edit/", {"markdown": markdown})
    assert saved.status_code == 302
    page = client.get(f"/releases/{release.pk}/").content.decode()
    assert "<h2>Notes</h2>" in page and "onerror" not in page
    api = client.get(f"/api/v1/releases/{release.pk}/notes/").json()
    assert api["markdown"].startswith("## Notes") and "onerror" not in api["html"]
    download = client.get(f"/releases/{release.pk}/notes.md")
    assert download["Content-Disposition"].endswith('-v0.3.0-release-notes.md"')
    assert AuditEvent.objects.filter(action="release.notes_edited").count() == 1


def test_project_page_shows_history_and_cadence_and_the_dashboard_in_flight(client_as, manager):
    from datetime import timedelta

    from django.utils import timezone

    from releases.models import ReleaseStatus

    project = ProjectFactory(slug="svc", cadence_days={"major": 91, "minor": 30, "patch": 14})
    shipped = release_create(
        actor=manager,
        project=project,
        release_type="minor",
        version="0.2.0",
        codename="Quantum Guardian",
    )
    Release.objects.filter(pk=shipped.pk).update(
        status=ReleaseStatus.RELEASED, released_at=timezone.now() - timedelta(days=40)
    )
    planned = release_create(
        actor=manager,
        project=project,
        release_type="minor",
        version="0.3.0",
        codename="Digital Oracle",
    )
    client = client_as(manager)
    page = client.get("/projects/svc/").content.decode()
    assert page.index("v0.3.0") < page.index("v0.2.0")  # newest version first
    assert "“Quantum Guardian”" in page and "“Digital Oracle”" in page
    assert "overdue by 10 days" in page  # minor: every 30 days, last 40 days ago
    assert "no patch release shipped yet" in page
    dashboard = client.get("/").content.decode()
    assert f"/releases/{planned.pk}/" in dashboard and f"/releases/{shipped.pk}/" not in dashboard


def test_the_filters_keep_what_was_chosen(client_as, manager):
    """The filter selects (built in Python, liftoff.forms.FilterSelect) show the choice the
    list was filtered by, and escape what they print."""
    ProjectFactory(slug="filters", name="<Filters & Co>")
    client = client_as(manager)
    page = client.get("/releases/?status=ready&project=filters").content.decode()
    assert '<option value="ready" selected>Ready</option>' in page
    assert '<option value="filters" selected>&lt;Filters &amp; Co&gt;</option>' in page
    assert '<option value="staging">Staging</option>' in page
    runs = client_as(manager).get("/runs/?status=failed").content.decode()
    assert '<option value="failed" selected>Failed</option>' in runs
