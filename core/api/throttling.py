"""The API's rate limit, per integrator client; it fails open when its cache is down.

DRF's throttles read the cache (Redis) before the view runs, so an unreachable Redis would refuse
every request, writes that would have committed included. Here a cache failure costs the rate
limit for that request only: one warning line (no traceback) and the request goes on.
"""

from __future__ import annotations

import logging

from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger("payops.api.throttling")


class ApiClientRateThrottle(SimpleRateThrottle):
    """A rate per integrator client (PAYOPS_API_RATE, e.g. ``600/minute``)."""

    scope = "api_client"

    def get_cache_key(self, request, view):
        client = getattr(request, "api_client", None)
        if client is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": client.pk}

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception as exc:  # the cache backend's own errors (redis.ConnectionError, ...)
            logger.warning(
                "rate limit not applied, the cache is unavailable: %s: %s",
                type(exc).__name__,
                exc,
            )
            return True
