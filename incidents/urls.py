from django.urls import path

from incidents import views

app_name = "incidents"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.new, name="new"),
    path("open/", views.open_card, name="open-card"),
    path("settings/<slug:slug>/", views.settings_page, name="settings"),
    path(
        "settings/<slug:slug>/severity/<str:severity>/",
        views.severity_edit,
        name="severity-edit",
    ),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/clock/", views.clock, name="clock"),
    path("<int:pk>/transition/", views.transition, name="transition"),
    path("<int:pk>/notes/", views.note, name="note"),
    path("<int:pk>/deployment/", views.deployment, name="deployment"),
    path("<int:pk>/security/", views.security, name="security"),
    path("<int:pk>/postmortem/", views.postmortem, name="postmortem"),
    path("<int:pk>/hotfix/", views.hotfix, name="hotfix"),
    path("<int:pk>/hotfix/start/", views.hotfix_start, name="hotfix-start"),
]
