"""The API's rate limit, per integrator client; it fails open when its cache is down.

A fixed window per client, counted in one Redis round trip: ``SET key 0 EX <window> NX``,
``INCR key`` and ``PTTL key`` in one ``MULTI``/``EXEC`` (atomic: the window's key always has its
expiry). The window opens with the client's first request and lasts the rate's period; a request
beyond the rate within it is refused (429) with ``Retry-After`` = what is left of the window.
DRF's ``SimpleRateThrottle`` keeps a list of timestamps instead, read and written back whole on
every request (two round trips and a pickle of up to ``rate`` floats): its cost grows with the
rate, this one does not. As with any fixed window, a client may pass up to twice the rate across
the boundary of two windows (its last requests of one window, its first of the next).

DRF's throttles read the cache (Redis) before the view runs, so an unreachable Redis would refuse
every request, writes that would have committed included. Here a cache failure costs the rate
limit for that request only: one warning line (no traceback) and the request goes on.
"""

from __future__ import annotations

import logging
import math

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger("payops.api.throttling")


class ApiClientRateThrottle(SimpleRateThrottle):
    """A rate per integrator client (PAYOPS_API_RATE, e.g. ``600/minute``)."""

    scope = "api_client"
    # The window's length is in the key: processes (or a deploy) with another rate count in
    # windows of their own, never in one another's (a per-second window's requests landing in a
    # per-minute window made the slower rate refuse at once).
    cache_format = "ratelimit:%(scope)s:%(ident)s:%(window)s"

    def get_cache_key(self, request, view):
        client = getattr(request, "api_client", None)
        if client is None:
            return None
        return self.cache_format % {
            "scope": self.scope,
            "ident": client.pk,
            "window": self.duration,
        }

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        try:
            count, left = self.hit(key)
        except Exception as exc:  # the cache backend's own errors (redis.ConnectionError, ...)
            logger.warning(
                "rate limit not applied, the cache is unavailable: %s: %s",
                type(exc).__name__,
                exc,
            )
            return True
        self.left = left
        return count <= self.num_requests

    def hit(self, key: str) -> tuple[int, float]:
        """Count one request in the client's window: (requests in the window, seconds left)."""
        cache = caches["default"]  # what DRF's ``cache`` proxy names, unwrapped
        if isinstance(cache, RedisCache):
            redis_key = cache.make_and_validate_key(key)
            client = cache._cache.get_client(redis_key, write=True)
            with client.pipeline(transaction=True) as pipe:
                pipe.set(redis_key, 0, ex=self.duration, nx=True)
                pipe.incr(redis_key)
                pipe.pttl(redis_key)
                _, count, pttl = pipe.execute()
            return int(count), (pttl / 1000 if pttl and pttl > 0 else float(self.duration))
        # Another cache (local memory in development): the same window, without the atomicity.
        cache.add(key, 0, self.duration)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between the two calls
            cache.set(key, 1, self.duration)
            count = 1
        return count, float(self.duration)

    def wait(self):
        return max(1, math.ceil(getattr(self, "left", self.duration)))
