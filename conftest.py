"""Fixtures shared by every test package, and the rule for tests that need real services.

Tests marked ``postgres`` or ``redis`` need that service. Without it they are skipped, unless
``PAYOPS_REQUIRE_SERVICES=1`` (set by CI), where a missing service is a failure.
"""

from __future__ import annotations

import os
import threading

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from core.actors import forget_system_actors, system_actor
from core.models import Branch, Organization
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
