"""What the header's inbox link needs on every page: how often it asks for the count."""

from django.conf import settings


def inbox(request):
    return {"inbox_poll_seconds": settings.INBOX_POLL_SECONDS}
