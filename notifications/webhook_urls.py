"""A project's webhooks, mounted under /projects/<slug>/webhooks/ (liftoff/urls.py)."""

from django.urls import path

from notifications import webhook_views as views

app_name = "webhooks"
urlpatterns = [
    path("", views.webhook_list, name="list"),
    path("<int:endpoint_id>/attempts/", views.webhook_attempts, name="attempts"),
    path("<int:endpoint_id>/rotate/", views.webhook_rotate, name="rotate"),
    path("<int:endpoint_id>/active/", views.webhook_active, name="active"),
    path("<int:endpoint_id>/delete/", views.webhook_remove, name="delete"),
]
