import re
import time
import uuid

from django.conf import settings

from liftoff.request_context import request_id_var

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Tags each request with an id (kept from a proxy's X-Request-ID when it is sane),
    used by the audit trail and echoed in the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class IdleSessionMiddleware:
    """Ends sessions after SESSION_IDLE_TIMEOUT without a request.

    The expiry slides forward at most once a minute, so an active user does not cause a
    session write on every request. Django itself refuses an expired session.
    """

    REFRESH_EVERY = 60

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is not None and request.user.is_authenticated:
            now = int(time.time())
            if now - session.get("_liftoff_refreshed", 0) >= self.REFRESH_EVERY:
                session["_liftoff_refreshed"] = now
                session.set_expiry(settings.SESSION_IDLE_TIMEOUT)
        return self.get_response(request)
