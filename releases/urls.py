from django.urls import path

from releases import views

app_name = "releases"
urlpatterns = [
    path("releases/", views.index, name="index"),
    path("projects/", views.project_index, name="project-index"),
    path("projects/new/", views.project_new, name="project-new"),
    path("projects/<slug:slug>/", views.project_detail, name="project-detail"),
    path("projects/<slug:slug>/sync/", views.project_sync_view, name="project-sync"),
    path("projects/<slug:slug>/refs/", views.project_refs_fragment, name="project-refs"),
]
