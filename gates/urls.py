"""Pages of quality gates, approvals and validation (mounted at the site root).

The paths are the ones they had under checklists/ (users and the docs link them):
release-scoped actions live under /releases/<id>/…, project configuration (admins) under
/projects/<slug>/…, like the pages they belong to.
"""

from django.urls import path

from gates import config_views, views

app_name = "gates"
urlpatterns = [
    path("approvals/", views.approvals, name="approvals"),
    # A release's gates and validation.
    path("releases/<int:release_id>/gates/", views.release_gates_fragment, name="release-gates"),
    path(
        "releases/<int:release_id>/gates/<int:gate_id>/approve/",
        views.gate_approve,
        name="gate-approve",
    ),
    path(
        "releases/<int:release_id>/gates/<int:gate_id>/waive/",
        views.gate_waive,
        name="gate-waive",
    ),
    path(
        "releases/<int:release_id>/gates/<int:gate_id>/waiver/revoke/",
        views.gate_waiver_revoke,
        name="gate-waiver-revoke",
    ),
    path(
        "releases/<int:release_id>/gates/<int:gate_id>/evidence/",
        views.gate_evidence,
        name="gate-evidence",
    ),
    path(
        "releases/<int:release_id>/gates/<int:gate_id>/results/<int:result_id>/report/",
        views.gate_result_report,
        name="gate-result-report",
    ),
    path(
        "releases/<int:release_id>/validate/", views.release_validate_view, name="release-validate"
    ),
    # Project configuration (admins).
    path("projects/<slug:slug>/gates/", config_views.gate_index, name="gate-index"),
    path("projects/<slug:slug>/gates/new/", config_views.gate_edit, name="gate-new"),
    path(
        "projects/<slug:slug>/gates/licences/",
        config_views.licence_policy_edit,
        name="licence-policy",
    ),
    path("projects/<slug:slug>/gates/<int:gate_id>/", config_views.gate_edit, name="gate-edit"),
    path(
        "projects/<slug:slug>/gates/<int:gate_id>/delete/",
        config_views.gate_delete_view,
        name="gate-delete",
    ),
    path("projects/<slug:slug>/validation/", config_views.command_index, name="command-index"),
    path("projects/<slug:slug>/validation/new/", config_views.command_edit, name="command-new"),
    path(
        "projects/<slug:slug>/validation/<int:command_id>/",
        config_views.command_edit,
        name="command-edit",
    ),
    path(
        "projects/<slug:slug>/validation/<int:command_id>/delete/",
        config_views.command_delete,
        name="command-delete",
    ),
]
