"""Fixtures shared by every test package, and the rule for tests that need real services.

Tests marked ``postgres`` or ``redis`` need that service. Without it they are skipped, unless
``PAYOPS_REQUIRE_SERVICES=1`` (set by CI), where a missing service is a failure.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import threading

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from core.actors import forget_system_actors, system_actor
from core.models import AccountingPeriod, Branch, Organization, TestClock
from core.services import api_client_create

REQUIRE_SERVICES = os.environ.get("PAYOPS_REQUIRE_SERVICES", "").lower() in {"1", "true", "yes"}


def run_together(*functions, timeout: float = 30) -> list:
    """Race: run each function in its own thread, all released at once by a barrier.

    Returns, in order, what each returned or the exception it raised (so no failure in a thread
    goes unseen). Each thread closes its database connection, as Django needs of threads it did
    not start.
    """
    barrier = threading.Barrier(len(functions))
    outcomes: list = [None] * len(functions)

    def run(index, function):
        try:
            barrier.wait(timeout)
            outcomes[index] = function()
        except BaseException as exc:
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a racing thread did not finish"
    return outcomes


def _missing(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (PAYOPS_REQUIRE_SERVICES=1 turns this skip into a failure)")
    pytest.skip(reason)


def redis_available() -> bool:
    if not settings.REDIS_URL:
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping())
    except redis.RedisError:
        return False


def pytest_runtest_setup(item):
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        _missing("needs PostgreSQL: set DATABASE_URL=postgres://…")
    if item.get_closest_marker("redis") and not redis_available():
        _missing("needs Redis: set REDIS_URL=redis://… to a running server")


@pytest.fixture
def system_user(db):
    return system_actor("tests")


@pytest.fixture
def organization(db):
    return Organization.objects.create(slug="yerevan-cafe", name="Yerevan Cafe")


@pytest.fixture
def other_organization(db):
    return Organization.objects.create(slug="gyumri-bakery", name="Gyumri Bakery")


@pytest.fixture
def branch(organization):
    return Branch.objects.create(organization=organization, code="northern", name="Northern Ave")


def make_api(organization: Organization, name: str = "tests") -> APIClient:
    client_row, token = api_client_create(
        organization=organization, name=name, actor=system_actor("tests")
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    api.api_client = client_row
    api.token = token
    return api


@pytest.fixture
def api(organization):
    """An authenticated API client of ``organization``."""
    return make_api(organization)


@pytest.fixture
def other_api(other_organization):
    return make_api(other_organization, name="other")


@pytest.fixture(autouse=True)
def _forget_system_actors():
    """A test's rollback or flush removes the system users it created: forget them (the process
    remembers committed ones, ``core.actors``)."""
    forget_system_actors()
    yield
    forget_system_actors()


@contextlib.contextmanager
def clock_at(organization: Organization, moment: dt.datetime):
    """The block runs with ``organization``'s test clock at ``moment`` (set directly, so even
    before real time, as only a test may); afterwards the clock is as it was (usually: real time
    again). ``core.clock`` honours it: the sandbox is on in the tests."""
    before = TestClock.objects.filter(organization=organization).values_list("now", flat=True)
    before = next(iter(before), None)
    TestClock.objects.update_or_create(organization=organization, defaults={"now": moment})
    try:
        yield moment
    finally:
        if before is None:
            TestClock.objects.filter(organization=organization).delete()
        else:
            TestClock.objects.filter(organization=organization).update(now=before)


def day_after(period: AccountingPeriod) -> dt.datetime:
    """Midnight at the start of the day after ``period``'s last day, in its organisation's zone:
    the first moment the period has ended (00:00 in Yerevan is 20:00 UTC of the last day)."""
    organization = period.organization
    return dt.datetime.combine(
        period.end + dt.timedelta(days=1), dt.time.min, tzinfo=organization.tz
    )


@pytest.fixture
def month_ended(db):
    """``with month_ended(period): ...`` runs the block on the day after the period's last day
    (00:00 in the organisation's zone, on its test clock), so the period, even the current month,
    has ended and may be closed; afterwards real time is back (today may lie in the period
    again, as a change dated in a closed period needs). Any day of the month, the 1st and the
    last included."""

    def ended(period: AccountingPeriod):
        return clock_at(period.organization, day_after(period))

    return ended


@pytest.fixture
def at_midnight(db):
    """``with at_midnight(period, seconds=-1): ...``: the block runs that many seconds from the
    midnight that ends ``period`` (``-1``: 23:59:59 of its last day, not ended; ``0``: 00:00 of the
    next day, ended), on its organisation's test clock."""

    def at(period: AccountingPeriod, *, seconds: float = 0):
        return clock_at(period.organization, day_after(period) + dt.timedelta(seconds=seconds))

    return at
