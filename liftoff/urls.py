from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularJSONAPIView

from checklists import api as checklists_api
from dashboard.history_views import history
from dashboard.views import dashboard, dashboard_cards
from deployments import api as deployments_api
from gates import api as gates_api
from incidents import api as incidents_api
from liftoff import views
from liftoff.api import ApiSchemaGenerator, api_not_found
from liftoff.roles import READ_ROLES, public, role_required
from metrics import api as metrics_api
from metrics import evidence_api
from notifications import api as notifications_api
from releases import api as releases_api
from runs import api as runs_api

# The API's OpenAPI document is public like the login page: it describes, it reveals no data.
openapi_view = public(SpectacularJSONAPIView.as_view(generator_class=ApiSchemaGenerator))

api_v1 = [
    path("openapi.json", openapi_view, name="openapi"),
    path("projects/", releases_api.projects, name="projects"),
    path("projects/<slug:slug>/", releases_api.project_detail, name="project-detail"),
    path("projects/<slug:slug>/sync/", releases_api.project_sync_endpoint, name="project-sync"),
    path("releases/", releases_api.releases, name="releases"),
    path("releases/<int:release_id>/", releases_api.release_detail, name="release-detail"),
    path(
        "releases/<int:release_id>/prepare/",
        releases_api.release_prepare_endpoint,
        name="release-prepare",
    ),
    path(
        "releases/<int:release_id>/ship/", releases_api.release_ship_endpoint, name="release-ship"
    ),
    path(
        "releases/<int:release_id>/transition/",
        releases_api.release_transition_endpoint,
        name="release-transition",
    ),
    path("releases/<int:release_id>/notes/", releases_api.release_notes, name="release-notes"),
    path("releases/<int:release_id>/impact/", releases_api.release_impact, name="release-impact"),
    path(
        "releases/<int:release_id>/gates/",
        gates_api.release_gates_endpoint,
        name="release-gates",
    ),
    path(
        "releases/<int:release_id>/validate/",
        gates_api.release_validate_endpoint,
        name="release-validate",
    ),
    path(
        "releases/<int:release_id>/gate-results/",
        gates_api.release_gate_results_endpoint,
        name="release-gate-results",
    ),
    path(
        "releases/<int:release_id>/approvals/",
        gates_api.release_approvals_endpoint,
        name="release-approvals",
    ),
    path(
        "releases/<int:release_id>/waivers/",
        gates_api.release_waivers_endpoint,
        name="release-waivers",
    ),
    path(
        "releases/<int:release_id>/waivers/<slug:gate_key>/",
        gates_api.release_waiver_endpoint,
        name="release-waiver",
    ),
    path(
        "releases/<int:release_id>/checklists/",
        checklists_api.release_checklists_endpoint,
        name="release-checklists",
    ),
    path(
        "checklist-items/<int:item_id>/",
        checklists_api.checklist_item_endpoint,
        name="checklist-item",
    ),
    path(
        "projects/<slug:slug>/environments/",
        deployments_api.environments,
        name="environments",
    ),
    path(
        "projects/<slug:slug>/environments/<slug:name>/",
        deployments_api.environment_detail,
        name="environment-detail",
    ),
    path(
        "projects/<slug:slug>/environments/<slug:name>/rollback/",
        deployments_api.environment_rollback_endpoint,
        name="environment-rollback",
    ),
    path(
        "projects/<slug:slug>/environments/<slug:name>/lock/",
        deployments_api.environment_lock_endpoint,
        name="environment-lock",
    ),
    path(
        "projects/<slug:slug>/environments/<slug:name>/unlock/",
        deployments_api.environment_unlock_endpoint,
        name="environment-unlock",
    ),
    path("deployments/", deployments_api.deployments, name="deployments"),
    path(
        "deployments/<int:deployment_id>/",
        deployments_api.deployment_detail,
        name="deployment-detail",
    ),
    path(
        "deployments/<int:deployment_id>/cancel/",
        deployments_api.deployment_cancel_endpoint,
        name="deployment-cancel",
    ),
    path(
        "deployments/<int:deployment_id>/abort/",
        deployments_api.deployment_abort_endpoint,
        name="deployment-abort",
    ),
    path("projects/<slug:slug>/webhooks/", notifications_api.webhooks, name="webhooks"),
    path("inbox/", notifications_api.inbox_endpoint, name="inbox"),
    path(
        "releases/<int:release_id>/announcements/",
        notifications_api.release_announcements,
        name="release-announcements",
    ),
    path(
        "releases/<int:release_id>/announcements/<slug:tone>/publish/",
        notifications_api.release_announcement_publish,
        name="release-announcement-publish",
    ),
    path("incidents/", incidents_api.incidents, name="incidents"),
    path("incidents/<int:incident_id>/", incidents_api.incident_detail, name="incident-detail"),
    path(
        "incidents/<int:incident_id>/transition/",
        incidents_api.incident_transition_endpoint,
        name="incident-transition",
    ),
    path("metrics/", metrics_api.metrics, name="metrics"),
    path(
        "releases/<int:release_id>/evidence/",
        evidence_api.release_evidence,
        name="release-evidence",
    ),
    path(
        "releases/<int:release_id>/sbom/",
        evidence_api.release_sbom,
        name="release-sbom",
    ),
    path(
        "releases/<int:release_id>/attestation/",
        evidence_api.release_attestation,
        name="release-attestation",
    ),
    path("runs/<int:run_id>/", runs_api.run_detail, name="run-detail"),
    path("runs/<int:run_id>/cancel/", runs_api.run_cancel_endpoint, name="run-cancel"),
    path("runs/<int:run_id>/retry/", runs_api.run_retry_endpoint, name="run-retry"),
    # Last: any other URL under /api/v1/ answers the JSON 404, not the HTML page.
    re_path(r"^(?P<rest>[\s\S]*)$", public(api_not_found), name="not-found"),
]

account = [
    path(
        "login/",
        public(auth_views.LoginView.as_view(redirect_authenticated_user=True)),
        name="login",
    ),
    path("logout/", role_required(*READ_ROLES)(auth_views.LogoutView.as_view()), name="logout"),
    path(
        "password/",
        role_required(*READ_ROLES)(auth_views.PasswordChangeView.as_view()),
        name="password_change",
    ),
    path(
        "password/done/",
        role_required(*READ_ROLES)(auth_views.PasswordChangeDoneView.as_view()),
        name="password_change_done",
    ),
    path("tokens/", views.token_list, name="account-tokens"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke_view, name="account-token-revoke"),
]

urlpatterns = [
    path("", dashboard, name="dashboard"),
    path("dashboard/cards/", dashboard_cards, name="dashboard-cards"),
    path("history/", history, name="history"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include(account)),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("", include("releases.urls")),
    path("", include("checklists.urls")),
    path("", include("gates.urls")),
    path("deployments/", include("deployments.urls")),
    path("incidents/", include("incidents.urls")),
    path("metrics/", include("metrics.urls")),
    path("runs/", include("runs.urls")),
    path("notifications/", include("notifications.urls")),
    path("projects/<slug:slug>/webhooks/", include("notifications.webhook_urls")),
    path("", include("notifications.announcement_urls")),
    # Django's admin has its own staff check; only superusers and admins are staff.
    path("admin/", admin.site.urls),
]

# Error pages in the layout; under /api/ the JSON error shape (liftoff.views).
handler403 = "liftoff.views.permission_denied"
handler404 = "liftoff.views.page_not_found"
handler500 = "liftoff.views.server_error"
