from django.urls import path

from metrics import views

app_name = "metrics"
urlpatterns = [
    path("", views.index, name="index"),
    path("export.csv", views.export_csv, name="export-csv"),
    path("export.json", views.export_json, name="export-json"),
    path("deployments/<slug:name>/", views.deployments, name="deployments"),
    path("settings/<slug:slug>/", views.settings_edit, name="settings"),
    path("releases/<int:release_id>/rate/", views.rate, name="rate"),
]
