from django.urls import path

from metrics import evidence_views, views

app_name = "metrics"
urlpatterns = [
    path("", views.index, name="index"),
    path("export.csv", views.export_csv, name="export-csv"),
    path("export.json", views.export_json, name="export-json"),
    path("deployments/<slug:name>/", views.deployments, name="deployments"),
    path("settings/<slug:slug>/", views.settings_edit, name="settings"),
    path("releases/<int:release_id>/rate/", views.rate, name="rate"),
    path("releases/<int:release_id>/compliance/", evidence_views.compliance, name="compliance"),
    path("releases/<int:release_id>/risk/", evidence_views.risk_assess, name="risk-assess"),
    path(
        "releases/<int:release_id>/compliance.md",
        evidence_views.compliance_md,
        name="compliance-md",
    ),
    path(
        "releases/<int:release_id>/evidence/",
        evidence_views.evidence_take,
        name="evidence-take",
    ),
    path(
        "releases/<int:release_id>/evidence/<int:number>.json",
        evidence_views.evidence_download,
        name="evidence-download",
    ),
    path(
        "releases/<int:release_id>/sbom.cdx.json",
        evidence_views.sbom_download,
        name="sbom-download",
    ),
    path(
        "releases/<int:release_id>/attestation/<int:number>.json",
        evidence_views.attestation_download,
        name="attestation-download",
    ),
]
