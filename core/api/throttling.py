"""The API's rate limit, per integrator client; it fails open when its cache is down.

A sliding window per client, kept in Redis as a log of the client's accepted requests (a sorted
set scored by the Redis server's clock, in milliseconds) and checked by one Lua script in one
round trip: drop the entries older than the window, count the rest, and record this request only
when the count is under the rate. So at most ``rate`` requests pass in ANY window of the rate's
period: a fixed window let a client pass up to twice the rate across the boundary of two windows
(its last requests of one, its first of the next). A refused request is not recorded (a client
retrying too early does not push its own limit further away), and ``Retry-After`` is when the
oldest request in the window leaves it. Every write sets the key's expiry to the window, so an
idle client's log disappears. Memory: at most ``rate`` entries per client (600/minute: ~600).
DRF's ``SimpleRateThrottle`` keeps the same log as a pickled list, read and written back whole on
every request (two round trips and a pickle of up to ``rate`` floats): its cost grows with the
rate, the script's does not (O(log n) per request).

DRF's throttles read the cache (Redis) before the view runs, so an unreachable Redis would refuse
every request, writes that would have committed included. Here a cache failure costs the rate
limit for that request only: one warning line (no traceback) and the request goes on. Another
cache than Redis (local memory in development) counts a fixed window, without the atomicity.
"""

from __future__ import annotations

import logging
import math
import secrets

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger("payops.api.throttling")

# KEYS[1] the client's log; ARGV: window (ms), rate, this request's member. Returns
# {allowed (0/1), requests in the window, ms until the oldest leaves it (refused only)}.
SLIDING_WINDOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, count + 1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, count, tonumber(oldest[2]) + window - now}
"""


class ApiClientRateThrottle(SimpleRateThrottle):
    """A rate per integrator client (PAYOPS_API_RATE, e.g. ``600/minute``)."""

    scope = "api_client"
    # The window's length is in the key: processes (or a deploy) with another rate count in
    # windows of their own, never in one another's (a per-second window's requests landing in a
    # per-minute window made the slower rate refuse at once). ``log``: the sorted set (the fixed
    # window's counters had no suffix; a key of the other type is never read).
    cache_format = "ratelimit:%(scope)s:%(ident)s:%(window)s:log"
    _script = None

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
            allowed, left = self.hit(key)
        except Exception as exc:  # the cache backend's own errors (redis.ConnectionError, ...)
            logger.warning(
                "rate limit not applied, the cache is unavailable: %s: %s",
                type(exc).__name__,
                exc,
            )
            return True
        self.left = left
        return allowed

    def hit(self, key: str) -> tuple[bool, float]:
        """Record one request in the client's window if the rate allows it: (allowed, seconds
        until a request would be allowed again)."""
        cache = caches["default"]  # what DRF's ``cache`` proxy names, unwrapped
        if isinstance(cache, RedisCache):
            redis_key = cache.make_and_validate_key(key)
            client = cache._cache.get_client(redis_key, write=True)
            script = type(self)._script
            if script is None:  # EVALSHA, loaded again by redis-py after a Redis restart
                script = type(self)._script = client.register_script(SLIDING_WINDOW)
            allowed, _, wait_ms = script(
                keys=[redis_key],
                args=[self.duration * 1000, self.num_requests, secrets.token_hex(8)],
                client=client,
            )
            return bool(allowed), wait_ms / 1000
        # Another cache (local memory in development): a fixed window, without the atomicity.
        cache.add(key, 0, self.duration)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between the two calls
            cache.set(key, 1, self.duration)
            count = 1
        return count <= self.num_requests, float(self.duration)

    def wait(self):
        return max(1, math.ceil(getattr(self, "left", self.duration)))
