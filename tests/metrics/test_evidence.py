"""A release's compliance report and its evidence: the snapshot frozen when it ships
(canonical bytes, stable hash), changes after shipping named, the exact bytes served with
their digest, who may take another snapshot, the attestation, and constant queries."""

import hashlib
import json

import pytest
from django.utils import timezone

from checklists.models import ChecklistItem
from checklists.services import checklist_item_update
from gates.models import GateResult, QualityGate
from gates.services import gate_result_record, waiver_grant
from liftoff.audit import audit_for_object
from liftoff.models import AuditChainHead, AuditEvent
from metrics.evidence import (
    PREDICATE_TYPE,
    canonical_json,
    compliance_document,
    document_differences,
    sha256_hex,
)
from metrics.models import EvidenceSnapshot
from metrics.services import evidence_snapshot_take
from releases.services import release_transition
from tests.factories import ReleaseFactory

pytestmark = pytest.mark.django_db

HEAD = "a" * 40


def _ship(release, actor):
    return release_transition(
        release=release, to="released", actor=actor, system_reason="The tag is on the remote."
    )


@pytest.fixture
def shippable(project, manager, approver, production, deploy):
    """A release in production with a gate measured, one waived, an item ticked and a
    deployment: a record with something in every section."""
    release = ReleaseFactory(
        project=project,
        version="3.1.0",
        release_manager=manager,
        status="production",
        head_commit=HEAD,
        tag="v3.1.0",
        prepared_at=timezone.now(),
    )
    gates = list(QualityGate.objects.filter(project=project, active=True, kind="automated"))
    gate_result_record(release=release, gate=gates[0], source="ci", value=0, commit=HEAD)
    if len(gates) > 1:
        gate_result_record(
            release=release,
            gate=gates[1],
            source="ci",
            value=None,
            commit=HEAD,
            failed=True,
            reason="report missing",
        )
        waiver_grant(release=release, gate=gates[1], actor=approver, reason="Scanner down <b>x</b>")
    item = ChecklistItem.objects.filter(release=release).first()
    checklist_item_update(item=item, actor=manager, done=True, note="checked by hand")
    deploy(production, timezone.now())
    return release


def test_shipping_freezes_the_record_once_with_its_hash_and_the_audit_head(shippable, manager):
    _ship(shippable, manager)
    snapshot = EvidenceSnapshot.objects.get(release=shippable)
    assert snapshot.number == 1 and snapshot.reason == "shipped"
    assert snapshot.sha256 == hashlib.sha256(snapshot.content).hexdigest()
    # The head of the chain as it was: the shipping move is in it, the snapshot's own
    # audit record comes after it.
    head = AuditChainHead.objects.get(pk=1)
    assert snapshot.audit_head_seq == head.seq - 1
    assert AuditEvent.objects.get(seq=snapshot.audit_head_seq).hash == snapshot.audit_head_hash
    doc = json.loads(snapshot.document)
    assert doc["release"]["status"] == "released" and doc["release"]["tag"] == "v3.1.0"
    assert doc["checklists"]["templates"], "the templates it was judged by are frozen too"
    assert doc["gates"]["definitions"] and doc["gates"]["judgement"]["gates"]
    assert doc["audit"][-1]["action"] == "release.transition"
    # Canonical: sorted keys, no spaces, the same bytes when serialised again.
    assert canonical_json(doc) == snapshot.content
    assert snapshot.document.startswith('{"audit":[')
    actions = [
        e.action for e in audit_for_object(object_type="releases.release", object_id=shippable.pk)
    ]
    assert actions[-1] == "release.evidence_snapshot_taken"


def test_the_document_is_the_same_bytes_when_built_twice(shippable, manager):
    _ship(shippable, manager)
    snapshot = EvidenceSnapshot.objects.get(release=shippable)
    first = canonical_json(
        compliance_document(release=shippable, audit_until=snapshot.audit_head_seq)
    )
    shippable.refresh_from_db()
    second = canonical_json(
        compliance_document(release=shippable, audit_until=snapshot.audit_head_seq)
    )
    assert first == second == snapshot.content


def test_a_record_changed_after_shipping_is_detected_and_named(
    client_as, stakeholder, shippable, manager
):
    _ship(shippable, manager)
    page = client_as(stakeholder).get(f"/metrics/releases/{shippable.pk}/compliance/")
    assert 'id="evidence-matches"' in page.content.decode()

    # A measured value edited behind the app's back, and an item's note changed.
    result = GateResult.objects.filter(release=shippable, value=0).first()
    GateResult.objects.filter(pk=result.pk).update(value=7)
    item = ChecklistItem.objects.filter(release=shippable, done=True).first()
    checklist_item_update(item=item, actor=manager, note="rewritten later")

    text = (
        client_as(stakeholder).get(f"/metrics/releases/{shippable.pk}/compliance/").content.decode()
    )
    assert 'id="evidence-differs"' in text
    assert f"gates.evidence[{result.gate.key}].value: 0.0 → 7.0" in text
    assert "note: &quot;checked by hand&quot; → &quot;rewritten later&quot;" in text
    # The snapshot itself never changed.
    snapshot = EvidenceSnapshot.objects.get(release=shippable)
    assert hashlib.sha256(snapshot.content).hexdigest() == snapshot.sha256


def test_the_canonical_form_and_its_hash_are_fixed_across_runs():
    """Not an accident of one process (dict order, hash seed): this document's bytes and
    digest are written down here, so a change of serialisation fails on any run."""
    doc = {"z": [{"b": 1.5, "a": "é"}], "a": None, "m": {"y": True, "x": "v0.3.0"}}
    content = canonical_json(doc)
    assert content == '{"a":null,"m":{"x":"v0.3.0","y":true},"z":[{"a":"é","b":1.5}]}'.encode()
    assert sha256_hex(content) == (
        "735967c13c9422d9a32508dc02f94dacf9165bd406cd9e5fd54eccee6c7fb2e5"
    )


def test_differences_are_named_by_key_not_position():
    frozen = {"gates": [{"gate": "a", "value": 1}, {"gate": "b", "value": 2}]}
    live = {"gates": [{"gate": "b", "value": 2}, {"gate": "c", "value": 3}]}
    assert document_differences(frozen, live) == ["gates[a]: removed", "gates[c]: added"]


def test_the_snapshot_is_served_as_its_exact_bytes_with_its_digest(
    client_as, stakeholder, shippable, manager
):
    _ship(shippable, manager)
    snapshot = EvidenceSnapshot.objects.get(release=shippable)
    client = client_as(stakeholder)
    page = client.get(f"/metrics/releases/{shippable.pk}/evidence/1.json")
    assert page.content == snapshot.content
    assert page["X-Evidence-SHA256"] == snapshot.sha256 == hashlib.sha256(page.content).hexdigest()
    api = client.get(f"/api/v1/releases/{shippable.pk}/evidence/")
    assert api.status_code == 200 and api.content == snapshot.content
    assert api["X-Evidence-SHA256"] == snapshot.sha256
    report = client.get(f"/metrics/releases/{shippable.pk}/compliance/").content.decode()
    assert snapshot.sha256 in report


def test_no_snapshot_answers_404_json(client_as, stakeholder, shippable):
    response = client_as(stakeholder).get(f"/api/v1/releases/{shippable.pk}/evidence/")
    assert response.status_code == 404 and "detail" in response.json()


def test_a_manager_takes_a_new_snapshot_and_both_are_kept(client_as, shippable, manager):
    _ship(shippable, manager)
    response = client_as(manager).post(f"/metrics/releases/{shippable.pk}/evidence/")
    assert response.status_code == 302
    numbers = list(
        EvidenceSnapshot.objects.filter(release=shippable).values_list("number", flat=True)
    )
    assert numbers == [1, 2]


@pytest.mark.parametrize("role", ["approver", "stakeholder"])
def test_other_roles_may_not_take_a_snapshot(client_as, make_user, shippable, manager, role):
    _ship(shippable, manager)
    response = client_as(make_user(role)).post(f"/metrics/releases/{shippable.pk}/evidence/")
    assert response.status_code == 403
    assert EvidenceSnapshot.objects.filter(release=shippable).count() == 1


def test_the_service_refuses_a_snapshot_to_a_stakeholder(shippable, manager, stakeholder):
    _ship(shippable, manager)
    with pytest.raises(Exception, match="Only a release manager or an admin"):
        evidence_snapshot_take(release=shippable, actor=stakeholder)
    assert EvidenceSnapshot.objects.filter(release=shippable).count() == 1


def test_a_release_in_flight_has_nothing_to_freeze(client_as, shippable, manager):
    client_as(manager).post(f"/metrics/releases/{shippable.pk}/evidence/")
    assert not EvidenceSnapshot.objects.filter(release=shippable).exists()


@pytest.mark.parametrize("role", ["admin", "release_manager", "approver", "stakeholder"])
def test_every_role_reads_the_report_and_its_markdown(
    client_as, make_user, shippable, manager, role
):
    _ship(shippable, manager)
    client = client_as(make_user(role))
    page = client.get(f"/metrics/releases/{shippable.pk}/compliance/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "The audit hash chain is intact" in text and 'id="risk-level"' in text
    assert "Scanner down &lt;b&gt;x&lt;/b&gt;" in text  # the waiver's why, inert
    md = client.get(f"/metrics/releases/{shippable.pk}/compliance.md")
    assert md["Content-Type"].startswith("text/markdown")
    body = md.content.decode()
    assert "# Compliance report: Shop v3.1.0" in body
    assert "Scanner down \\<b\\>x\\</b\\>" in body  # Markdown's and HTML's signs escaped
    assert "## Risk assessment matrix" in body and "= 2: **low risk**" in body  # minor
    assert "## Business continuity" in body and "| production |" in body


def test_an_outsider_is_sent_to_log_in(client, shippable):
    assert client.get(f"/metrics/releases/{shippable.pk}/compliance/").status_code == 302
    assert client.get(f"/api/v1/releases/{shippable.pk}/evidence/").status_code in {401, 403}


def test_a_broken_audit_chain_is_reported(client_as, stakeholder, shippable, manager):
    _ship(shippable, manager)
    AuditEvent.objects.filter(seq=1).update(action="tampered")
    text = (
        client_as(stakeholder).get(f"/metrics/releases/{shippable.pk}/compliance/").content.decode()
    )
    assert "The audit hash chain is broken" in text and "event #1" in text


def test_the_attestation_is_an_in_toto_statement_over_the_snapshot(
    client_as, stakeholder, shippable, manager
):
    _ship(shippable, manager)
    snapshot = EvidenceSnapshot.objects.get(release=shippable)
    for url in (
        f"/metrics/releases/{shippable.pk}/attestation/1.json",
        f"/api/v1/releases/{shippable.pk}/attestation/",
    ):
        statement = client_as(stakeholder).get(url).json()
        assert statement["_type"] == "https://in-toto.io/Statement/v1"
        assert statement["subject"] == [{"name": "v3.1.0", "digest": {"gitCommit": HEAD}}]
        assert statement["predicateType"] == PREDICATE_TYPE
        assert statement["predicate"]["evidence"]["sha256"] == snapshot.sha256
        assert {g["status"] for g in statement["predicate"]["gates"]} >= {"waived"}


def _more_history(project, production, deploy, manager, release, n):
    for _ in range(n):
        deploy(production, timezone.now())
    for item in ChecklistItem.objects.filter(release=release, kind="check", done=False)[:n]:
        checklist_item_update(item=item, actor=manager, done=True, note="ok")


@pytest.mark.parametrize("size", [1, 8])
def test_the_report_reads_in_constant_queries(
    client_as,
    stakeholder,
    shippable,
    manager,
    project,
    production,
    deploy,
    size,
    django_assert_max_num_queries,
):
    # 35 at both sizes (measured): the page reads each section once, whatever its length
    # (business continuity reads three a environment: one here; the change impact one).
    _more_history(project, production, deploy, manager, shippable, size)
    _ship(shippable, manager)
    client = client_as(stakeholder)
    with django_assert_max_num_queries(35):
        assert client.get(f"/metrics/releases/{shippable.pk}/compliance/").status_code == 200


def test_the_retrospectives_action_items_are_on_the_report_and_not_in_the_snapshot(
    client_as, stakeholder, shippable, manager
):
    from releases.services import action_item_create

    _ship(shippable, manager)
    action_item_create(
        release=shippable,
        actor=manager,
        title="Alert on <b>slow</b> health checks",
        owner=manager,
        due_date=timezone.now().date(),
    )
    page = client_as(stakeholder).get(f"/metrics/releases/{shippable.pk}/compliance/")
    text = page.content.decode()
    section = text.split('id="actions-heading"')[1].split("</section>")[0]
    assert "Alert on &lt;b&gt;slow&lt;/b&gt; health checks" in section
    assert "manager-user" in section and "Open" in section
    # Added after shipping, to the retrospective: the record is unchanged all the same.
    assert "Alert on" not in EvidenceSnapshot.objects.get(release=shippable).content.decode()
    assert 'id="evidence-matches"' in text and 'id="evidence-differs"' not in text


def test_business_continuity_is_recorded_as_it_stood_when_the_release_shipped(
    client_as, stakeholder, project, manager, production, deploy, release
):
    from datetime import timedelta

    shipping = ReleaseFactory(
        project=project,
        version="3.1.0",
        release_manager=manager,
        status="production",
        head_commit=HEAD,
        tag="v3.1.0",
        prepared_at=timezone.now(),
    )
    now = timezone.now()
    deploy(production, now - timedelta(hours=3))  # 2.0.0, verified
    deploy(production, now - timedelta(hours=2), kind="rollback")  # a rollback that worked
    deploy(production, now - timedelta(hours=1), release=shipping)
    _ship(shipping, manager)
    frozen = json.loads(EvidenceSnapshot.objects.get(release=shipping).content)
    (row,) = [r for r in frozen["continuity"] if r["environment"] == "production"]
    assert row["running"] == "3.1.0"
    assert row["rollback_available"] and row["rollback_to"] == "2.0.0"
    assert row["last_rollback_succeeded_at"].startswith(
        (now - timedelta(hours=2) + timedelta(minutes=10)).isoformat()[:16]
    )
    # Production moves on after shipping: the record of then does not.
    later = ReleaseFactory(project=project, version="3.2.0", release_manager=manager)
    deploy(production, timezone.now(), release=later, minutes=0)
    deploy(production, timezone.now(), kind="rollback", minutes=0)
    page = client_as(stakeholder).get(f"/metrics/releases/{shipping.pk}/compliance/")
    text = page.content.decode()
    assert 'id="evidence-matches"' in text, text.split('id="evidence-heading"')[1][:2000]
    section = text.split('id="continuity-heading"')[1].split("</section>")[0]
    assert "yes, to 2.0.0" in section and "3.1.0" in section
