"""Pages of checklists and checklist templates (mounted at the site root).

Release-scoped pages live under /checklists/… and /checklist-items/…, project
configuration (admins) under /projects/<slug>/…, like the pages they belong to. The gate,
approval and validation pages are in gates/urls.py.
"""

from django.urls import path

from checklists import config_views, views

app_name = "checklists"
urlpatterns = [
    # A release's checklists.
    path(
        "releases/<int:release_id>/checklists/",
        views.release_checklists_page,
        name="release-checklists",
    ),
    path("checklist-items/<int:item_id>/", views.item_update, name="item-update"),
    path("checklists/<int:checklist_id>/", views.checklist_fragment, name="checklist"),
    path(
        "checklists/<int:checklist_id>/complete/",
        views.checklist_complete,
        name="checklist-complete",
    ),
    # Project configuration (admins).
    path("projects/<slug:slug>/checklists/", config_views.template_index, name="template-index"),
    path("projects/<slug:slug>/checklists/new/", config_views.template_edit, name="template-new"),
    path(
        "projects/<slug:slug>/checklists/<int:template_id>/",
        config_views.template_edit,
        name="template-edit",
    ),
    path(
        "projects/<slug:slug>/checklists/<int:template_id>/delete/",
        config_views.template_delete,
        name="template-delete",
    ),
]
