from django.urls import path

from releases import audit_views, project_views, release_views, retro_views

app_name = "releases"
urlpatterns = [
    path("releases/", release_views.release_index, name="index"),
    path("releases/new/", release_views.release_new, name="release-new"),
    path("releases/<int:release_id>/", release_views.release_detail, name="release-detail"),
    path(
        "releases/<int:release_id>/cockpit/",
        release_views.release_cockpit,
        name="release-cockpit",
    ),
    path(
        "releases/<int:release_id>/confirm/<slug:what>/",
        release_views.release_confirm,
        name="release-confirm",
    ),
    path(
        "releases/<int:release_id>/prepare/",
        release_views.release_prepare_view,
        name="release-prepare",
    ),
    path(
        "releases/<int:release_id>/impact/analyse/",
        release_views.release_impact_analyse_view,
        name="release-impact-analyse",
    ),
    path("releases/<int:release_id>/ship/", release_views.release_ship_view, name="release-ship"),
    path(
        "releases/<int:release_id>/transition/",
        release_views.release_transition_view,
        name="release-transition",
    ),
    path("releases/<int:release_id>/audit/", audit_views.release_audit, name="release-audit"),
    path("releases/<int:release_id>/notes/", release_views.release_notes, name="release-notes"),
    path(
        "releases/<int:release_id>/notes/edit/",
        release_views.release_notes_edit,
        name="release-notes-edit",
    ),
    path("releases/<int:release_id>/runs/", release_views.release_runs, name="release-runs"),
    path(
        "releases/<int:release_id>/notes/preview/",
        release_views.release_notes_preview,
        name="release-notes-preview",
    ),
    path(
        "releases/<int:release_id>/notes.md",
        release_views.release_notes_download,
        name="release-notes-download",
    ),
    path(
        "releases/<int:release_id>/retrospective/",
        retro_views.retrospective,
        name="release-retrospective",
    ),
    path(
        "releases/<int:release_id>/retrospective/answer/",
        retro_views.retrospective_answer,
        name="release-retrospective-answer",
    ),
    path(
        "releases/<int:release_id>/retrospective/actions/",
        retro_views.action_item_new,
        name="release-action-new",
    ),
    path(
        "releases/<int:release_id>/retrospective/actions/<int:pk>/status/",
        retro_views.action_item_status,
        name="release-action-status",
    ),
    path("projects/", project_views.project_index, name="project-index"),
    path("projects/new/", project_views.project_new, name="project-new"),
    path("projects/<slug:slug>/", project_views.project_detail, name="project-detail"),
    path(
        "projects/<slug:slug>/retrospective/",
        retro_views.retro_template_edit,
        name="retro-template",
    ),
    path(
        "projects/<slug:slug>/impact/",
        project_views.project_impact_settings,
        name="impact-settings",
    ),
    path("projects/<slug:slug>/sync/", project_views.project_sync_view, name="project-sync"),
    path("projects/<slug:slug>/refs/", project_views.project_refs_fragment, name="project-refs"),
]
