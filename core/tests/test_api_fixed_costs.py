"""What every API request pays before its view (issue 14, BENCHMARKS.md (4)): the token found
without a database round trip while the worker remembers it, a revocation refused at once in
the process that made it and within ``PAYOPS_API_TOKEN_CACHE_SECONDS`` elsewhere, the rate limit
counted in one Redis window that always expires."""

from __future__ import annotations

import pytest
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.throttling import SimpleRateThrottle

from core.api import auth
from core.models import ApiClient, Organization
from core.services import api_client_revoke


@pytest.fixture
def remembered(settings):
    settings.PAYOPS_API_TOKEN_CACHE_SECONDS = 5
    auth.forget_tokens()
    yield
    auth.forget_tokens()


def queries(api, url="/api/v1/branches/"):
    with CaptureQueriesContext(connection) as captured:
        response = api.get(url)
    assert response.status_code == 200, response.content
    return [q["sql"] for q in captured]


def test_a_remembered_token_costs_no_query(api, remembered):
    first = queries(api)
    assert any("core_apiclient" in sql for sql in first)
    again = queries(api)
    assert not any("core_apiclient" in sql for sql in again)
    assert len(again) == len(first) - 1 - sum("UPDATE" in sql for sql in first)


def test_without_the_setting_every_request_reads_the_token(api, settings):
    settings.PAYOPS_API_TOKEN_CACHE_SECONDS = 0
    auth.forget_tokens()
    queries(api)
    assert any("core_apiclient" in sql for sql in queries(api))


def test_a_revocation_is_refused_at_once_in_its_process(api, system_user, remembered):
    assert api.get("/api/v1/branches/").status_code == 200
    api_client_revoke(client=api.api_client, actor=system_user, reason="leaked")
    refused = api.get("/api/v1/branches/")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "authentication_failed"


def test_a_revocation_elsewhere_is_refused_when_the_entry_expires(api, remembered, monkeypatch):
    """Another worker revoked the key (no signal here): refused once the seconds have passed."""
    clock = [1000.0]
    monkeypatch.setattr(auth.time, "monotonic", lambda: clock[0])
    assert api.get("/api/v1/branches/").status_code == 200
    ApiClient.objects.filter(pk=api.api_client.pk).update(revoked_at=timezone.now())
    clock[0] += 4.9
    assert api.get("/api/v1/branches/").status_code == 200  # still remembered
    clock[0] += 0.2
    assert api.get("/api/v1/branches/").status_code == 401


def test_permissions_are_read_afresh_while_the_token_is_remembered(api, remembered):
    """A grant or a withdrawal counts from the next request (the key is remembered, not what
    its user may do)."""
    from django.contrib.auth.models import Permission

    url = "/api/v1/accounting-periods/"
    period = api.post(url, {"start": "2026-10-01", "end": "2026-10-31"}, format="json").json()
    close = f"{url}{period['id']}/close/"
    assert api.post(close).status_code == 403
    permission = Permission.objects.get(codename="close_accountingperiod")
    api.api_client.user.user_permissions.add(permission)
    assert api.post(close).status_code == 200
    assert api.post(close).status_code == 409  # closed already: the permission still counts
    api.api_client.user.user_permissions.remove(permission)
    withdrawn = api.post(close)
    assert withdrawn.status_code == 403
    assert withdrawn.json()["error"]["code"] == "permission_denied"


def test_an_organisation_saved_is_read_afresh(api, organization, remembered):
    queries(api)
    Organization.objects.get(pk=organization.pk).save()
    assert any("core_apiclient" in sql for sql in queries(api))


def _rate_log(api, window: int):
    backend = caches["default"]
    key = backend.make_and_validate_key(f"ratelimit:api_client:{api.api_client.pk}:{window}:log")
    return backend._cache.get_client(key), key


@pytest.mark.redis
def test_the_rate_window_always_expires(api, monkeypatch):
    """The log holds the accepted requests only, and always expires with the window."""
    assert isinstance(caches["default"], RedisCache)
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"api_client": "3/minute"})
    cache.clear()
    try:
        assert api.get("/api/v1/branches/").status_code == 200
        redis, key = _rate_log(api, 60)
        assert redis.zcard(key) == 1
        assert 0 < redis.pttl(key) <= 60_000
        codes = [api.get("/api/v1/branches/").status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        assert redis.zcard(key) == 3
        assert 0 < redis.pttl(key) <= 60_000
    finally:
        cache.clear()


@pytest.mark.redis
def test_the_rate_holds_in_any_window_not_only_a_fixed_one(api, monkeypatch):
    """At most the rate in ANY window of its period: requests accepted 59 s ago still count (a
    fixed window opened then would have just expired, letting the client pass twice the rate
    across the boundary); those accepted 61 s ago no longer do. ``Retry-After`` is when the
    oldest leaves the window."""
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"api_client": "3/minute"})
    cache.clear()
    try:
        redis, key = _rate_log(api, 60)
        seconds, micros = redis.time()
        now = seconds * 1000 + micros // 1000
        redis.zadd(key, {f"earlier-{i}": now - 59_000 + i for i in range(3)})
        refused = api.get("/api/v1/branches/")
        assert refused.status_code == 429
        assert 1 <= int(refused["Retry-After"]) <= 2
        assert redis.zcard(key) == 3  # the refused request is not recorded

        redis.delete(key)
        redis.zadd(key, {f"earlier-{i}": now - 61_000 + i for i in range(3)})
        assert api.get("/api/v1/branches/").status_code == 200
        assert redis.zcard(key) == 1  # the expired entries are gone, this one recorded
    finally:
        cache.clear()


@pytest.mark.redis
def test_two_rates_count_in_windows_of_their_own(api, monkeypatch):
    """A process with a per-second rate (the benchmark's server, or a deploy changing the rate)
    never fills another's per-minute window: each rate counts its own requests."""
    cache.clear()
    try:
        monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"api_client": "3/minute"})
        assert api.get("/api/v1/branches/").status_code == 200
        monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"api_client": "1000/second"})
        assert {api.get("/api/v1/branches/").status_code for _ in range(5)} == {200}
        monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"api_client": "3/minute"})
        codes = [api.get("/api/v1/branches/").status_code for _ in range(3)]
        assert codes == [200, 200, 429]
    finally:
        cache.clear()
