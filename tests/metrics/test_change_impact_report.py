"""The change impact on a release's compliance report: the figures, the called-out lists
(long ones cut with "and N more"), its states (pending, failed with why, stale), the
Markdown download, the evidence snapshot that freezes it (and an older snapshot compared
in its own shape), and the page's queries whatever the number of files changed."""

import json

import pytest
from django.utils import timezone

from liftoff.models import AuditChainHead
from metrics.evidence import canonical_json, compliance_document, compliance_report, sha256_hex
from metrics.models import EvidenceSnapshot
from releases.impact import DEFAULT_SECURITY_PATTERNS, impact_summarise
from releases.services import release_change_impact_record, release_transition
from tests.factories import ReleaseFactory

pytestmark = pytest.mark.django_db

HEAD = "c" * 40
BASE = "b" * 40


def _changes(n_files: int, n_migrations: int = 0) -> list[dict]:
    """`n_files` modified source files across 3 folders, `n_migrations` new migrations,
    a dependency file, a security-sensitive file and a binary."""
    changes = [
        {
            "path": f"pkg{i % 3}/mod{i}.py",
            "old_path": None,
            "added": 2,
            "removed": 1,
            "binary": False,
            "change": "modified",
        }
        for i in range(n_files)
    ]
    changes += [
        {
            "path": f"shop/migrations/{i:04d}_step.py",
            "old_path": None,
            "added": 10,
            "removed": 0,
            "binary": False,
            "change": "added",
        }
        for i in range(n_migrations)
    ]
    changes += [
        {
            "path": "uv.lock",
            "old_path": None,
            "added": 5,
            "removed": 5,
            "binary": False,
            "change": "modified",
        },
        {
            "path": "shop/auth/<b>login</b>.py",
            "old_path": "shop/login.py",
            "added": 1,
            "removed": 1,
            "binary": False,
            "change": "renamed",
        },
        {
            "path": "static/logo.png",
            "old_path": None,
            "added": None,
            "removed": None,
            "binary": True,
            "change": "modified",
        },
    ]
    return changes


def _record(release, changes, *, head=HEAD, error=""):
    result = {} if error else impact_summarise(changes, security_patterns=DEFAULT_SECURITY_PATTERNS)
    return release_change_impact_record(
        release=release,
        previous_tag="v3.0.0",
        base_commit=BASE,
        head_commit=head,
        result=result,
        error=error,
    )


@pytest.fixture
def prepared(project, manager):
    return ReleaseFactory(
        project=project,
        version="3.1.0",
        release_manager=manager,
        status="production",
        head_commit=HEAD,
        tag="v3.1.0",
        prepared_at=timezone.now(),
    )


def _page(client, release) -> str:
    response = client.get(f"/metrics/releases/{release.pk}/compliance/")
    assert response.status_code == 200
    return response.content.decode().split('id="impact-heading"')[1].split("</section>")[0]


def _markdown(client, release) -> str:
    text = client.get(f"/metrics/releases/{release.pk}/compliance.md").content.decode()
    return text.split("## Change impact")[1].split("## Approvals")[0]


def test_the_report_and_its_markdown_show_the_change_impact(client_as, stakeholder, prepared):
    _record(prepared, _changes(4, n_migrations=25))
    client = client_as(stakeholder)
    section = _page(client, prepared)
    assert "<strong>v3.0.0</strong> (<code>bbbbbbbbbbbb</code>)" in section
    # 4 sources + 25 migrations + uv.lock + the rename + the binary
    assert "<strong>32 files</strong> changed, <strong>+264 −10</strong> lines" in section
    assert "25 added, 6 modified, 0 deleted, 1 renamed; 1 binary, their lines unknown" in section
    assert '<th scope="row"><code>shop</code></th><td>26</td><td>251</td><td>1</td>' in section
    assert '<th scope="row"><code>(root)</code></th><td>1</td><td>5</td><td>5</td>' in section
    assert 'id="impact-migrations">Migrations: 25</h3>' in section
    assert section.count("shop/migrations/") == 20 and "<li>and 5 more</li>" in section
    assert 'id="impact-dependencies">Dependency files: 1</h3>' in section
    assert "<code>uv.lock</code> (modified)" in section
    # A path from the repository is text, never markup.
    assert "<code>shop/auth/&lt;b&gt;login&lt;/b&gt;.py</code> (renamed from" in section
    assert "<b>login</b>" not in section

    markdown = _markdown(client, prepared)
    assert "Since v3.0.0 (bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb) to " in markdown
    assert "| shop | 26 | 251 | 1 | 0 |" in markdown
    assert "| All | 32 | 264 | 10 | 1 |" in markdown
    assert "### Migrations: 25" in markdown and "- and 5 more" in markdown
    assert "- shop/auth/\\<b\\>login\\</b\\>.py (renamed from shop/login.py)" in markdown


def test_the_report_says_when_the_analysis_is_pending_failed_or_stale(
    client_as, stakeholder, prepared
):
    client = client_as(stakeholder)
    assert "Not analysed yet" in _page(client, prepared)
    assert "Not analysed yet" in _markdown(client, prepared)

    _record(prepared, [], error="git diff failed: bad object <cccc>")
    section = _page(client, prepared)
    assert "The change could not be analysed." in section
    assert "Why: git diff failed: bad object &lt;cccc&gt;" in section
    assert "could not be analysed: git diff failed" in _markdown(client, prepared)

    _record(prepared, _changes(1), head="d" * 40)
    section = _page(client, prepared)
    assert "This analysis is of commit <code>dddddddddddd</code>" in section
    assert "not of the release's head now (<code>cccccccccccc</code>)" in section
    assert "<strong>4 files</strong>" in section, "the figures are still shown"
    assert "**This analysis is of commit" in _markdown(client, prepared)


def test_the_evidence_snapshot_freezes_the_change_impact(client_as, stakeholder, prepared, manager):
    _record(prepared, _changes(2, n_migrations=1))
    release_transition(release=prepared, to="released", actor=manager, system_reason="Tagged.")
    frozen = json.loads(EvidenceSnapshot.objects.get(release=prepared).document)
    assert frozen["document_version"] == 2
    impact = frozen["change_impact"]
    assert impact["state"] == "analysed" and impact["previous_tag"] == "v3.0.0"
    assert impact["totals"]["files"] == 6 and impact["migrations"]["count"] == 1
    assert impact["security"]["paths"][0]["path"] == "shop/auth/<b>login</b>.py"

    # Analysed again after shipping (behind the app's back): the report names the change.
    _record(prepared, _changes(3, n_migrations=1))
    report = compliance_report(release=prepared)
    assert "change_impact.totals.files: 6 → 7" in report.differences
    assert "change_impact.folders[pkg2]: added" in report.differences


def test_a_snapshot_of_the_first_shape_is_compared_in_its_shape(manager, project):
    """Snapshots frozen before the change impact existed (document version 1) still
    match: the live record is compared without the part they never had."""
    release = ReleaseFactory(
        project=project, version="3.2.0", status="released", head_commit=HEAD, tag="v3.2.0"
    )
    _record(release, _changes(2))
    head = AuditChainHead.objects.get(pk=1)
    old = compliance_document(release=release, audit_until=head.seq)
    del old["change_impact"]
    old["document_version"] = 1
    content = canonical_json(old)
    EvidenceSnapshot.objects.create(
        release=release,
        number=1,
        reason="shipped",
        taken_at=timezone.now(),
        document=content.decode(),
        sha256=sha256_hex(content),
        audit_head_seq=head.seq,
        audit_head_hash=head.hash,
    )
    report = compliance_report(release=release)
    assert report.differences == [] and report.matches
    # A shape it cannot know is still said plainly.
    later = EvidenceSnapshot.objects.get(release=release)
    EvidenceSnapshot.objects.filter(pk=later.pk).update(
        document=later.document.replace('"document_version":1', '"document_version":9')
    )
    assert compliance_report(release=release).differences == [
        "document_version: the snapshot has another shape; compare by hand"
    ]


@pytest.mark.parametrize("files", [3, 3000])
def test_the_report_reads_in_constant_queries_whatever_the_change(
    client_as, stakeholder, prepared, files, django_assert_max_num_queries
):
    # 31 at both sizes (measured; this project has no environment): the analysis is one
    # row, however many files it names.
    _record(prepared, _changes(files, n_migrations=files // 3))
    client = client_as(stakeholder)
    with django_assert_max_num_queries(31):
        page = client.get(f"/metrics/releases/{prepared.pk}/compliance/")
    assert page.status_code == 200
    assert f"Migrations: {files // 3}</h3>" in page.content.decode()
    with django_assert_max_num_queries(31):
        assert client.get(f"/metrics/releases/{prepared.pk}/compliance.md").status_code == 200


def test_the_api_answers_the_change_impact_to_every_role(client_as, stakeholder, prepared, client):
    url = f"/api/v1/releases/{prepared.pk}/impact/"
    assert client.get(url).status_code in (401, 403)
    api = client_as(stakeholder)
    pending = api.get(url).json()
    assert pending["state"] == "pending" and pending["totals"] is None
    assert pending["migrations"] is None and pending["error"] is None
    _record(prepared, _changes(2, n_migrations=1))
    body = api.get(url).json()
    assert body["state"] == "analysed" and body["previous_tag"] == "v3.0.0"
    assert body["totals"]["files"] == 6 and body["totals"]["binary"] == 1
    assert body["migrations"] == {
        "count": 1,
        "paths": [{"path": "shop/migrations/0000_step.py", "change": "added"}],
    }
    assert body["security"]["paths"] == [
        {"path": "shop/auth/<b>login</b>.py", "change": "renamed", "from": "shop/login.py"}
    ]
    assert {f["folder"] for f in body["folders"]} == {"(root)", "pkg0", "pkg1", "shop", "static"}
    missing = api.get("/api/v1/releases/999999/impact/")
    assert missing.status_code == 404 and "detail" in missing.json()
