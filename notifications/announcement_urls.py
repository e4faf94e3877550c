"""A release's announcements and a project's notes and announcement templates, mounted at
the root (liftoff/urls.py) beside the release's and the project's other pages."""

from django.urls import path

from notifications import announcement_views as views

app_name = "announcements"
urlpatterns = [
    path(
        "releases/<int:release_id>/announcements/",
        views.release_announcements,
        name="release",
    ),
    path(
        "releases/<int:release_id>/announcements/<slug:tone>/save/",
        views.save,
        name="save",
    ),
    path(
        "releases/<int:release_id>/announcements/<slug:tone>/preview/",
        views.preview,
        name="preview",
    ),
    path(
        "releases/<int:release_id>/announcements/<slug:tone>/publish/",
        views.publish,
        name="publish",
    ),
    path("projects/<slug:slug>/communication/", views.communication, name="communication"),
    path(
        "projects/<slug:slug>/communication/announcements/",
        views.communication_announcements,
        name="communication-announcements",
    ),
]
