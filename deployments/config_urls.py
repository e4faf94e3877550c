"""Configuration pages of deployments (admins) and the emergency change review
(approvers), under /deployments/. Listed before the environment page's
`<project>/<name>/` in deployments/urls.py, so that `<project>/freezes/` is not read as an
environment named "freezes"."""

from django.urls import path

from deployments import config_views

urlpatterns = [
    path(
        "emergency-changes/<int:pk>/review/",
        config_views.emergency_change_review_view,
        name="emergency-change-review",
    ),
    path("<slug:project>/freezes/", config_views.freeze_index, name="freeze-index"),
    path("<slug:project>/freezes/new/", config_views.freeze_new, name="freeze-new"),
    path(
        "<slug:project>/freezes/<int:pk>/delete/",
        config_views.freeze_delete,
        name="freeze-delete",
    ),
    path("<slug:project>/environments/new/", config_views.environment_new, name="environment-new"),
    path(
        "<slug:project>/<slug:name>/edit/", config_views.environment_edit, name="environment-edit"
    ),
    path(
        "<slug:project>/<slug:name>/edit/rotate-secret/",
        config_views.environment_secret_rotate,
        name="environment-secret-rotate",
    ),
    path(
        "<slug:project>/<slug:name>/edit/health-checks/",
        config_views.health_checks_edit,
        name="environment-health-checks",
    ),
    path(
        "<slug:project>/<slug:name>/edit/secrets/",
        config_views.secrets_edit,
        name="environment-secrets",
    ),
    path(
        "<slug:project>/<slug:name>/edit/secrets/<str:secret>/delete/",
        config_views.secret_delete,
        name="environment-secret-delete",
    ),
]
