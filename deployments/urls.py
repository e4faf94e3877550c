from django.urls import path

from deployments import config_urls, views

app_name = "deployments"
# The numeric paths come first: `<project>/<name>/` would take "12/cancel/" too.
urlpatterns = [
    *config_urls.urlpatterns,  # configuration pages first: "<project>/freezes/" is no environment
    path("", views.index, name="index"),
    path("<int:pk>/", views.deployment_detail, name="deployment"),
    path("<int:pk>/cancel/", views.deployment_cancel_view, name="deployment-cancel"),
    path("<int:pk>/abort/", views.deployment_abort_view, name="deployment-abort"),
    # A release's Deployments tab and its deploy forms (the release page's section).
    path("releases/<int:release_id>/", views.release_deployments, name="release-deployments"),
    path(
        "releases/<int:release_id>/deploy/<int:environment_id>/",
        views.release_deploy,
        name="release-deploy",
    ),
    path("<slug:project>/<slug:name>/", views.environment_detail, name="environment"),
    path("<slug:project>/<slug:name>/lock/", views.environment_lock_view, name="environment-lock"),
    path(
        "<slug:project>/<slug:name>/unlock/",
        views.environment_unlock_view,
        name="environment-unlock",
    ),
    path(
        "<slug:project>/<slug:name>/rollback/",
        views.environment_rollback_view,
        name="environment-rollback",
    ),
]
