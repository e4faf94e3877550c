"""The site's URLs plus a page that fails, for the 500 page's tests."""

from django.urls import path

from liftoff.roles import public
from liftoff.urls import handler403, handler404, handler500  # noqa: F401 - the handlers
from liftoff.urls import urlpatterns as site


def _boom(request):
    raise RuntimeError("a bug")


urlpatterns = [
    path("boom/", public(_boom)),
    path("api/v1/boom/", public(_boom)),
    *site,
]
