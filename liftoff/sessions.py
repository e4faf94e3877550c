"""Sessions kept in the database and read from a shared cache.

Every signed-in request reads its session; with the database backend that is a query of
its own, which the header's inbox count and an incident's countdown (polled fragments of
at most two queries: the user with their roles, and what they show) cannot afford. The
`sessions` cache (Redis when `REDIS_URL` is set, else files in the data folder) is shared
by every web process, so a logout in one process ends the session in all of them.

The database stays the truth and the cache only a speed-up: Django's cached_db already
falls back to the database when a read fails; here a failed write or delete does too
(logged), so a Redis outage slows pages down instead of answering 500 on every page.
"""

import logging

from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore

logger = logging.getLogger(__name__)


class SessionStore(CachedDBStore):
    def load(self):
        try:
            data = self._cache.get(self.cache_key)
        except Exception:
            data = None
        if data is not None:
            return data
        row = self._get_session_from_db()
        if not row:
            return {}
        data = self.decode(row.session_data)
        self._cache_call("set", self.cache_key, data, self.get_expiry_age(expiry=row.expire_date))
        return data

    def exists(self, session_key):
        # The database answers: a key only in an unreachable or stale cache is no session.
        return super(CachedDBStore, self).exists(session_key)

    def delete(self, session_key=None):
        super(CachedDBStore, self).delete(session_key)
        session_key = session_key or self.session_key
        if session_key is not None:
            self._cache_call("delete", self.cache_key_prefix + session_key)

    def _cache_call(self, method: str, *args) -> None:
        try:
            getattr(self._cache, method)(*args)
        except Exception:
            # No session data in the log: only which call failed.
            logger.warning("Session cache %s failed; the database answers instead.", method)
