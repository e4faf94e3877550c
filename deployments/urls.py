from django.urls import path

from deployments import config_urls, views

app_name = "deployments"
urlpatterns = [
    *config_urls.urlpatterns,  # configuration pages first: "<project>/freezes/" is no environment
    path("", views.index, name="index"),
    path("<int:pk>/", views.deployment_detail, name="deployment"),
    path("<slug:project>/<slug:name>/", views.environment_detail, name="environment"),
]
