"""The header's unread count, for every page that shows the header. Lazy: a page without
the header (or an anonymous one) makes no query; one that shows it makes one count."""

from django.utils.functional import SimpleLazyObject

from notifications.selectors import unread_count


def inbox(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_count": SimpleLazyObject(lambda: unread_count(user=user))}
