from django.urls import path

from runs import views

app_name = "runs"
urlpatterns = [
    path("", views.run_index, name="run-index"),
    path("<int:run_id>/", views.run_detail, name="run-detail"),
    path("<int:run_id>/progress/", views.run_progress, name="run-progress"),
    path("<int:run_id>/cancel/", views.run_cancel_view, name="run-cancel"),
    path("<int:run_id>/retry/", views.run_retry_view, name="run-retry"),
]
