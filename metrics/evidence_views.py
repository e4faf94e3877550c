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
from liftoff.forms import form_add_domain_errors
from liftoff.roles import READ_ROLES, Role, has_role, role_required
from metrics.compliance_markdown import compliance_markdown
from metrics.evidence import (
    attestation_statement,
    compliance_report,
    impact_called_out,
    release_sbom_made,
    snapshot_get,
)
from metrics.forms import RiskAssessmentForm
from metrics.models import RiskLevel
from metrics.services import SNAPSHOT_ROLES, evidence_snapshot_take, risk_assessment_set
from releases.sections import release_page_tabs
from releases.selectors import release_action_items, release_get

SHA_HEADER = "X-Evidence-SHA256"


@role_required(*READ_ROLES)
def compliance(request, release_id: int):
    return _compliance_page(request, release_get(release_id=release_id))


def _compliance_page(request, release, *, risk_form=None, status: int = 200):
    report = compliance_report(release=release)
    matrix = report.document["risk_matrix"]
    if risk_form is None:
        levels = {label.lower(): value for value, label in RiskLevel.choices}
        risk_form = RiskAssessmentForm(
            initial={
                "likelihood": levels[matrix["likelihood"]],
                "impact": levels[matrix["impact"]],
                "note": matrix["note"],
            }
        )
    context = {
        "risk_form": risk_form,
        "may_assess": has_role(request.user, {Role.RELEASE_MANAGER}),
        # Rows high → low impact, columns low → high likelihood: the cell that is this one.
        "matrix_rows": [
            {
                "impact": impact_label,
                "cells": [
                    {
                        "score": likelihood * impact,
                        "here": matrix["likelihood"] == likelihood_label.lower()
                        and matrix["impact"] == impact_label.lower(),
                    }
                    for likelihood, likelihood_label in RiskLevel.choices
                ],
            }
            for impact, impact_label in reversed(RiskLevel.choices)
        ],
        "release": release,
        "report": report,
        "doc": report.document,
        "impact_lists": impact_called_out(report.document["change_impact"]),
        # The retrospective's follow-ups: live, not frozen (they come after shipping).
        "action_items": release_action_items(release=release),
        "may_snapshot": has_role(request.user, SNAPSHOT_ROLES),
        "tabs": release_page_tabs(release),
        "current_tab": "metrics:compliance",
    }
    return render(request, "metrics/compliance.html", context, status=status)


@role_required(Role.RELEASE_MANAGER)
@require_POST
def risk_assess(request, release_id: int):
    """Set the release's risk assessment matrix; bad input re-renders the report with its
    messages beside the form."""
    release = release_get(release_id=release_id)
    form = RiskAssessmentForm(request.POST)
    if form.is_valid():
        try:
            risk_assessment_set(release=release, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            form_add_domain_errors(form, exc)
        else:
            messages.success(request, "The risk assessment is saved.")
            return redirect(reverse("metrics:compliance", args=[release.pk]) + "#risk-heading")
    return _compliance_page(request, release, risk_form=form, status=400)


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
