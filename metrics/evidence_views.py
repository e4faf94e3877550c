"""A release's compliance report (HTML to print, Markdown to download), its evidence
snapshots (exact bytes), its attestation, and taking another snapshot. Every signed-in
role reads; a release manager or an admin takes a snapshot."""

import json

from django.contrib import messages
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from liftoff.errors import DomainError
from liftoff.roles import READ_ROLES, Role, has_role, role_required
from metrics.compliance_markdown import compliance_markdown
from metrics.evidence import (
    attestation_statement,
    compliance_report,
    release_sbom_made,
    snapshot_get,
)
from metrics.services import SNAPSHOT_ROLES, evidence_snapshot_take
from releases.sections import release_page_tabs
from releases.selectors import release_action_items, release_get

SHA_HEADER = "X-Evidence-SHA256"


@role_required(*READ_ROLES)
def compliance(request, release_id: int):
    release = release_get(release_id=release_id)
    report = compliance_report(release=release)
    context = {
        "release": release,
        "report": report,
        "doc": report.document,
        # The retrospective's follow-ups: live, not frozen (they come after shipping).
        "action_items": release_action_items(release=release),
        "may_snapshot": has_role(request.user, SNAPSHOT_ROLES),
        "tabs": release_page_tabs(release),
        "current_tab": "metrics:compliance",
    }
    return render(request, "metrics/compliance.html", context)


@role_required(*READ_ROLES)
def compliance_md(request, release_id: int):
    release = release_get(release_id=release_id)
    text = compliance_markdown(compliance_report(release=release))
    response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
    name = f"compliance-{release.project.slug}-v{release.version}.md"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def snapshot_response(snapshot, release) -> HttpResponse:
    """The snapshot's exact bytes, their digest in the header (the page and the API)."""
    response = HttpResponse(snapshot.content, content_type="application/json")
    response[SHA_HEADER] = snapshot.sha256
    name = f"evidence-{release.project.slug}-v{release.version}-{snapshot.number}.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def attestation_response(snapshot, release) -> JsonResponse:
    statement = attestation_statement(snapshot=snapshot, document=json.loads(snapshot.document))
    response = JsonResponse(statement, json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Type"] = "application/json"
    name = f"attestation-{release.project.slug}-v{release.version}-{snapshot.number}.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def sbom_response(sbom, release) -> HttpResponse:
    response = HttpResponse(sbom.document.encode(), content_type="application/vnd.cyclonedx+json")
    name = f"sbom-{release.project.slug}-v{release.version}.cdx.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@role_required(*READ_ROLES)
def sbom_download(request, release_id: int):
    release = release_get(release_id=release_id)
    return sbom_response(release_sbom_made(release=release), release)


@role_required(*READ_ROLES)
def evidence_download(request, release_id: int, number: int):
    release = release_get(release_id=release_id)
    return snapshot_response(snapshot_get(release=release, number=number), release)


@role_required(*READ_ROLES)
def attestation_download(request, release_id: int, number: int):
    release = release_get(release_id=release_id)
    return attestation_response(snapshot_get(release=release, number=number), release)


@role_required(Role.RELEASE_MANAGER)
@require_POST
def evidence_take(request, release_id: int):
    release = release_get(release_id=release_id)
    try:
        snapshot = evidence_snapshot_take(release=release, actor=request.user)
        messages.success(request, f"Snapshot {snapshot.number} taken: {snapshot.sha256}.")
    except DomainError as error:
        messages.error(request, error.message)
    return redirect(reverse("metrics:compliance", args=[release.pk]))
