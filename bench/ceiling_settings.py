"""Settings for the bench's ceiling server: the application's settings, middleware and
database, with a URLconf holding one view that does nothing.

Measured beside the real pages, it gives the most requests/s this stack can serve on this
machine, so each page's ratio to it shows what the page's own work costs.
"""

from liftoff.settings import *  # noqa: F403

ROOT_URLCONF = "bench.ceiling_urls"
