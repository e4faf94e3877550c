from django.urls import path

from notifications import views

app_name = "notifications"
urlpatterns = [
    path("", views.inbox_page, name="inbox"),
    path("count/", views.unread_count_fragment, name="count"),
    path("read-all/", views.mark_all_read, name="read-all"),
    path("<int:notification_id>/read/", views.mark_read, name="read"),
    path("preferences/", views.preferences_page, name="preferences"),
    path("deliveries/", views.failed_deliveries, name="deliveries"),
    path("deliveries/<int:delivery_id>/", views.delivery_page, name="delivery"),
    path("deliveries/<int:delivery_id>/send-again/", views.send_again, name="delivery-send-again"),
]
