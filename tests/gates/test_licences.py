"""The licence gate: a CycloneDX SBOM of an installed environment (made by cyclonedx-py
from a real interpreter) judged against the project's allow-list; unknown licences are
not measured, never passed; the allow-list is the admins' to edit."""

import copy
import json
import subprocess
import sys
from importlib.metadata import version

import pytest
from django.utils.html import escape

from gates.licences import DEFAULT_ALLOWED, _licensing, spdx_id
from gates.models import LicencePolicy, QualityGate
from gates.reports import parse_report
from gates.selectors import project_allowed_licences
from gates.services import gate_result_record, licence_policy_save
from liftoff.errors import NotAllowed, ValidationFailed
from liftoff.models import AuditEvent
from releases.services import project_create, project_refs_record
from tests.factories import ReleaseFactory

pytestmark = pytest.mark.django_db

# --- Real documents -------------------------------------------------------------------------

PYPROJECT = """\
[project]
name = "product"
version = "1.0.0"
license = "MIT"
dependencies = ["bandit", "coverage"]
[project.optional-dependencies]
dev = ["pytest"]
"""


@pytest.fixture(scope="module")
def environment_sbom(tmp_path_factory) -> dict:
    """cyclonedx-py's SBOM of Liftoff's own environment (a real interpreter with real
    packages), with a product that depends on bandit, coverage and pytest as its root."""
    folder = tmp_path_factory.mktemp("sbom")
    (folder / "pyproject.toml").write_text(PYPROJECT)
    subprocess.run(
        [
            *(sys.executable, "-m", "cyclonedx_py", "environment", sys.executable),
            *("--pyproject", "pyproject.toml", "--output-reproducible", "-o", "sbom.json"),
        ],
        cwd=folder,
        check=True,
        timeout=300,
    )
    return json.loads((folder / "sbom.json").read_text())


def _judge(document: dict, allowed=DEFAULT_ALLOWED, exit_code=0):
    return parse_report("cyclonedx", json.dumps(document), exit_code, allowed_licences=allowed)


def test_a_real_environment_sbom_passes_when_every_licence_is_allowed(environment_sbom):
    measured = _judge(environment_sbom)
    assert (measured.value, measured.failed) == (0, False), measured.reason
    # Only what the product depends on is judged, not the rest of the worker's packages.
    assert "packages product depends on" in measured.reason
    evidence = measured.report_text
    for name in ("bandit", "coverage", "pytest", "PyYAML", "pluggy"):
        assert f"  {name} {version(name)} " in evidence, name
    assert "celery" not in evidence.lower()  # installed, but nothing the product uses
    assert "Not allowed: 0" in evidence and "Unknown licence: 0" in evidence


def test_a_real_environment_sbom_names_the_packages_the_allow_list_refuses(environment_sbom):
    allowed = [a for a in DEFAULT_ALLOWED if a != "Apache-2.0"]
    measured = _judge(environment_sbom, allowed)
    assert not measured.failed
    # bandit and coverage declare Apache-2.0 (their own metadata, read by cyclonedx-py).
    assert f"bandit {version('bandit')} (Apache-2.0)" in measured.reason
    assert f"coverage {version('coverage')} (Apache-2.0)" in measured.reason
    assert measured.value >= 2
    assert "Apache-2.0" not in measured.report_text.splitlines()[1]  # the list it used


def test_without_a_root_component_every_installed_package_is_judged(environment_sbom):
    document = copy.deepcopy(environment_sbom)
    del document["metadata"]["component"]
    measured = _judge(document, ["MIT"])
    assert f"all {len(document['components'])} packages" in measured.report_text
    assert f"Django {version('django')}" in measured.report_text
    assert measured.value is None or measured.value > 10


# --- Hand-made documents for the edges --------------------------------------------------------


def _doc(*components) -> dict:
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "components": [
            {"type": "library", "name": name, "version": "1.0", "licenses": licenses}
            for name, licenses in components
        ],
    }


def _id(spdx):
    return {"license": {"id": spdx}}


def _name(text):
    return {"license": {"name": text}}


def _expr(text):
    return {"expression": text}


def test_or_passes_with_one_allowed_alternative_and_and_needs_both():
    measured = _judge(
        _doc(
            ("dual", [_expr("MIT OR GPL-3.0-only")]),
            ("both", [_expr("MIT AND GPL-3.0-only")]),
            ("nested", [_expr("(GPL-3.0-only OR BSD-3-Clause) AND Apache-2.0")]),
            ("exception", [_expr("GPL-2.0-only WITH Classpath-exception-2.0")]),
        )
    )
    assert measured.value == 2 and not measured.failed
    assert measured.reason == (
        "2 of 4 packages not allowed: both 1.0 (GPL-3.0-only), exception 1.0 (GPL-2.0-only)"
    )


def test_an_offending_gpl_package_fails_the_gate_and_is_named(project):
    gate = project.quality_gates.get(key="dependency-licences")
    measured = _judge(_doc(("ok", [_id("MIT")]), ("copyleft", [_id("GPL-3.0-only")])))
    release = ReleaseFactory(project=project, status="validating", head_commit="a" * 40)
    result = gate_result_record(
        release=release,
        gate=gate,
        source="validation",
        value=measured.value,
        commit="a" * 40,
        reason=measured.reason,
        report=measured.report_text,
        failed=measured.failed,
    )
    assert (result.status, result.value) == ("failed", 1)
    assert result.reason == "1 of 2 packages not allowed: copyleft 1.0 (GPL-3.0-only)"
    assert "Not allowed: 1\n  copyleft 1.0: GPL-3.0-only\n" in result.report


def test_a_package_without_licence_is_not_measured_never_passed(project):
    measured = _judge(_doc(("ok", [_id("MIT")]), ("silent", []), ("odd", [_name("Foo Licence")])))
    assert (measured.value, measured.failed) == (None, False)
    assert measured.reason == (
        "The licence of 2 packages is unknown: odd 1.0 (Foo Licence), silent 1.0 (none stated)."
    )
    gate = project.quality_gates.get(key="dependency-licences")
    result = gate_result_record(
        release=ReleaseFactory(project=project, status="validating", head_commit="a" * 40),
        gate=gate,
        source="validation",
        value=measured.value,
        commit="a" * 40,
        reason=measured.reason,
    )
    assert result.status == "not_measured"


def test_unknown_and_refused_together_are_not_measured_and_name_both():
    measured = _judge(_doc(("silent", []), ("copyleft", [_id("AGPL-3.0-only")])))
    assert measured.value is None and not measured.failed
    assert "silent 1.0 (none stated)" in measured.reason
    assert "Not allowed: copyleft 1.0 (AGPL-3.0-only)." in measured.reason


def test_names_only_are_mapped_to_spdx_ids():
    document = _doc(
        ("classifier", [_name("License :: OSI Approved :: MIT License")]),
        ("apache", [_name("License :: OSI Approved :: Apache Software License")]),
        # "BSD License" does not say which BSD: allowed only when both are.
        (
            "bsd",
            [_name("License :: OSI Approved"), _name("License :: OSI Approved :: BSD License")],
        ),
        ("spdx-as-name", [_name("Apache-2.0 OR MIT")]),
    )
    assert _judge(document).value == 0
    only_bsd3 = [a for a in DEFAULT_ALLOWED if a != "BSD-2-Clause"]
    measured = _judge(document, only_bsd3)
    assert measured.reason == "1 of 4 packages not allowed: bsd 1.0 (BSD-2-Clause)"


def test_an_exact_id_wins_over_a_vague_classifier():
    # httpx lists BSD-3-Clause and the "BSD License" classifier: the id says which BSD.
    document = _doc(
        ("httpx", [_id("BSD-3-Clause"), _name("License :: OSI Approved :: BSD License")])
    )
    assert _judge(document, ["BSD-3-Clause"]).value == 0


def test_only_the_vague_classifier_says_nothing_so_it_is_unknown():
    measured = _judge(_doc(("vague", [_name("License :: OSI Approved")])))
    assert measured.value is None and "vague 1.0" in measured.reason


def test_deprecated_gnu_ids_and_case_are_understood():
    document = _doc(("lgpl", [_id("LGPL-2.1+")]), ("lower", [_expr("mit or apache-2.0")]))
    assert _judge(document).value == 0
    assert _judge(_doc(("gpl", [_id("GPL-2.0")]))).reason.endswith("gpl 1.0 (GPL-2.0-only)")


@pytest.mark.parametrize(
    ("text", "exit_code", "reason"),
    [
        ('{"bomFormat": "SPDX"}', 0, "is not a CycloneDX JSON document"),
        ("{not json", 0, "is not valid JSON"),
        (json.dumps(_doc(("ok", [_id("MIT")]))), 1, "cyclonedx-py exited 1"),
    ],
)
def test_a_broken_report_fails(text, exit_code, reason):
    measured = parse_report("cyclonedx", text, exit_code)
    assert measured.failed and measured.value is None and reason in measured.reason


def test_an_sbom_without_packages_checked_nothing():
    measured = _judge(_doc())
    assert (measured.value, measured.failed) == (None, False)
    assert "lists no packages" in measured.reason


# --- The allow-list ---------------------------------------------------------------------------


@pytest.fixture
def project(admin_user):
    project = project_create(
        actor=admin_user, slug="svc", name="Svc", repo_url="https://git.example.test/svc.git"
    )
    project_refs_record(project=project, refs=[])  # synced: releases can be planned
    return project


PAGE = "/projects/svc/gates/licences/"


def test_a_new_project_gets_the_licence_gate_and_the_default_list(project):
    gate = QualityGate.objects.get(project=project, key="dependency-licences")
    assert (gate.kind, gate.comparator, gate.threshold, gate.unit, gate.active) == (
        "automated",
        "eq",
        0,
        "packages",
        True,
    )
    assert project_allowed_licences(project=project) == list(DEFAULT_ALLOWED)


def test_an_admin_edits_the_allow_list(project, admin_user, client_as):
    client = client_as(admin_user)
    assert "MPL-2.0" in client.get(PAGE).content.decode()
    response = client.post(PAGE, {"allowed": "mit, Apache-2.0\nGPL-2.0+\n\nMIT"})
    assert response.status_code == 302 and response["Location"] == "/projects/svc/gates/"
    assert project_allowed_licences(project=project) == ["Apache-2.0", "GPL-2.0-or-later", "MIT"]
    event = AuditEvent.objects.get(action="licence_policy.saved")
    assert event.after == {"allowed": ["Apache-2.0", "GPL-2.0-or-later", "MIT"]}
    assert event.before["allowed"] == list(DEFAULT_ALLOWED)
    page = client.get("/projects/svc/gates/").content.decode()
    assert "<code>GPL-2.0-or-later</code>" in page and "Edit allowed licences" in page


def test_a_bad_licence_id_is_refused_with_the_reason_and_nothing_changes(
    project, admin_user, client_as
):
    response = client_as(admin_user).post(PAGE, {"allowed": "MIT\nBeerware-ish\nApache-2.0"})
    assert response.status_code == 400
    assert escape("“Beerware-ish” is not an SPDX licence id") in response.content.decode()
    assert "Beerware-ish" in response.content.decode()  # what was typed is kept
    assert not LicencePolicy.objects.exists()
    assert not AuditEvent.objects.filter(action="licence_policy.saved").exists()


@pytest.mark.parametrize("role", ["manager", "approver", "stakeholder"])
def test_only_admins_edit_the_allow_list(project, client_as, role, request):
    client = client_as(request.getfixturevalue(role))
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, {"allowed": "GPL-3.0-only"}).status_code == 403
    assert not LicencePolicy.objects.exists()
    # Everyone reads it on the gates page; the edit link is the admins'.
    page = client.get("/projects/svc/gates/").content.decode()
    assert "<code>LGPL-3.0-or-later</code>" in page and "Edit allowed licences" not in page


def test_the_service_refuses_a_non_admin_whoever_calls_it(project, manager):
    with pytest.raises(NotAllowed):
        licence_policy_save(actor=manager, project=project, allowed=["GPL-3.0-only"])
    assert not LicencePolicy.objects.exists()


def test_an_outsider_is_sent_to_log_in(project, client):
    response = client.get(PAGE)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_an_empty_list_refuses_every_licence(project, admin_user):
    licence_policy_save(actor=admin_user, project=project, allowed=[])
    allowed = project_allowed_licences(project=project)
    assert allowed == []
    assert _judge(_doc(("ok", [_id("MIT")])), allowed).value == 1


def test_the_service_names_each_bad_id(project, admin_user):
    with pytest.raises(ValidationFailed) as refused:
        licence_policy_save(actor=admin_user, project=project, allowed=["MIT", "X", "Y Z"])
    assert len(refused.value.errors["allowed"]) == 2


def test_the_compliance_report_shows_the_licence_finding(
    project, admin_user, client_as, stakeholder
):
    release = ReleaseFactory(project=project, status="validating", head_commit="a" * 40)
    measured = _judge(_doc(("copyleft", [_id("GPL-3.0-only")])))
    gate_result_record(
        release=release,
        gate=project.quality_gates.get(key="dependency-licences"),
        source="validation",
        value=measured.value,
        commit=release.head_commit,
        reason=measured.reason,
        report=measured.report_text,
    )
    page = client_as(stakeholder).get(f"/metrics/releases/{release.pk}/compliance/")
    assert page.status_code == 200
    assert "1 of 1 packages not allowed: copyleft 1.0 (GPL-3.0-only)" in page.content.decode()


def test_the_licence_pages_read_a_constant_number_of_queries(
    project, admin_user, client_as, django_assert_max_num_queries
):
    client = client_as(admin_user)
    with django_assert_max_num_queries(12) as small:
        assert client.get(PAGE).status_code == 200
    with django_assert_max_num_queries(14):
        assert client.get("/projects/svc/gates/").status_code == 200
    many = [i for i in sorted(_licensing().known_symbols) if spdx_id(i) == i][:300]
    licence_policy_save(actor=admin_user, project=project, allowed=many)
    for n in range(20):
        QualityGate.objects.create(
            project=project, key=f"extra-{n}", name=f"Extra {n}", kind="manual"
        )
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(PAGE).status_code == 200
    with django_assert_max_num_queries(14):
        page = client.get("/projects/svc/gates/").content.decode()
    assert "Extra 19" in page and f"<code>{many[-1]}</code>" in page
