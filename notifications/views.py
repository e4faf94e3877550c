"""The inbox, the header's count, preferences, and the admin's failed deliveries."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from liftoff.errors import DomainError
from liftoff.roles import READ_ROLES, Role, role_required
from notifications.rules import RULES
from notifications.selectors import (
    deliveries_failed,
    delivery_attempts,
    delivery_get,
    delivery_with_target,
    inbox,
    preferences_table,
    unread_count,
)
from notifications.services import (
    delivery_send_again,
    notification_mark_read,
    notifications_mark_all_read,
    preferences_save,
)


@role_required(*READ_ROLES)
@never_cache
def inbox_page(request):
    page = Paginator(inbox(user=request.user), 50).get_page(request.GET.get("page"))
    return render(request, "notifications/inbox.html", {"page": page})


@role_required(*READ_ROLES)
@never_cache
@vary_on_headers("HX-Request")
def unread_count_fragment(request):
    # Polled every 15 s by the header: the page sends the count it shows (hx-vals); the
    # same count answers 204, which htmx neither swaps nor treats as an error.
    count = unread_count(user=request.user)
    if not request.htmx:
        return redirect("notifications:inbox")
    if request.GET.get("shown") == str(count):
        return HttpResponse(status=204)
    return render(request, "notifications/unread_badge.html", {"unread_count": count})


@role_required(*READ_ROLES)
@require_POST
def mark_read(request, notification_id: int):
    notification_mark_read(user=request.user, notification_id=notification_id)
    return redirect("notifications:inbox")


@role_required(*READ_ROLES)
@require_POST
def mark_all_read(request):
    count = notifications_mark_all_read(user=request.user)
    messages.success(request, f"{count} marked read.")
    return redirect("notifications:inbox")


@role_required(*READ_ROLES)
@never_cache
def preferences_page(request):
    if request.method == "POST":
        choices = {
            event: {
                "in_app": f"{event}:in_app" in request.POST,
                "email": f"{event}:email" in request.POST,
            }
            for event in RULES
        }
        preferences_save(user=request.user, choices=choices)
        messages.success(request, "Preferences saved.")
        return redirect("notifications:preferences")
    rows = preferences_table(user=request.user)
    return render(request, "notifications/preferences.html", {"rows": rows})


@role_required(Role.ADMIN)
@never_cache
def failed_deliveries(request):
    page = Paginator(deliveries_failed(), 50).get_page(request.GET.get("page"))
    return render(request, "notifications/deliveries.html", {"page": page})


@role_required(Role.ADMIN)
@never_cache
def delivery_page(request, delivery_id: int):
    """One delivery and every attempt at it: when, the answer, how long, the error. What
    was sent (the payload) and the endpoint's secret are not shown."""
    delivery = delivery_with_target(delivery_id=delivery_id)
    context = {"delivery": delivery, "attempts": delivery_attempts(delivery=delivery)}
    return render(request, "notifications/delivery.html", context)


@role_required(Role.ADMIN)
@require_POST
def send_again(request, delivery_id: int):
    delivery = delivery_get(delivery_id=delivery_id)
    try:
        delivery_send_again(delivery=delivery, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.summary())
    else:
        messages.success(request, f"Delivery #{delivery.pk} will be sent again.")
    return redirect("notifications:deliveries")
