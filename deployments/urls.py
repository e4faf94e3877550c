from django.urls import path

from deployments import views

app_name = "deployments"
urlpatterns = [
    path("", views.index, name="index"),
    path("<int:pk>/", views.deployment_detail, name="deployment"),
    path("<slug:project>/<slug:name>/", views.environment_detail, name="environment"),
]
