"""Billing fixtures: an organisation with a branch, a plan, a customer, and the test clock."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from billing import services
from billing.models import Customer, Plan
from core.clock import test_clock_advance
from core.models import Branch, TestClock

YEREVAN = dt.timezone(dt.timedelta(hours=4))


def at(day: str, hour: int = 10) -> dt.datetime:
    """A moment on ``day`` (ISO date) in Yerevan."""
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=YEREVAN)


@pytest.fixture
def gym(organization):
    return Branch.objects.get_or_create(
        organization=organization, code="gym", defaults={"name": "Ararat Gym"}
    )[0]


@pytest.fixture
def plan(organization, system_user) -> Plan:
    return services.plan_create(
        organization=organization,
        code="monthly",
        name="Monthly",
        amount=Decimal("15000.00"),
        currency="AMD",
        interval="month",
        actor=system_user,
    )


@pytest.fixture
def customer(organization, system_user) -> Customer:
    return services.customer_create(
        organization=organization,
        external_ref="member-1",
        name="Anahit",
        language="hy",
        email="anahit@example.am",
        actor=system_user,
    )


@pytest.fixture
def timeline_clock(organization) -> dt.datetime:
    """The organisation's test clock pinned at the tests' timeline's first moment, 1 December 2026
    08:00 in Yerevan, set directly: real time passes the timeline, and the sandbox refuses to start
    a clock before real time (a subscription's start is also judged by this clock). Later moves
    go through the service or ``POST sandbox/clock/``, as integrators do."""
    return TestClock.objects.create(organization=organization, now=at("2026-12-01", 8)).now


@pytest.fixture
def clock(organization, system_user):
    """Move the organisation's test clock: ``clock("2026-12-01")`` or ``clock(datetime)``."""

    def move(when, hour: int = 10):
        now = at(when, hour) if isinstance(when, str) else when
        if not TestClock.objects.filter(organization=organization).exists():
            # The tests' timelines are dated (December 2026 onwards) and real time passes them;
            # the sandbox refuses to start a clock before real time, so a test starts its
            # organisation's clock directly, then moves it by the service as integrators do.
            return TestClock.objects.create(organization=organization, now=now).now
        return test_clock_advance(organization=organization, now=now, actor=system_user).now

    return move


@pytest.fixture
def subscribe(organization, gym, plan, customer, system_user):
    def make(start: str = "2026-12-01", **kwargs):
        values = {
            "organization": organization,
            "customer": customer,
            "plan": plan,
            "branch": gym,
            "start_date": dt.date.fromisoformat(start),
            "collection": "payment_link",
            "actor": system_user,
        }
        values.update(kwargs)
        return services.subscription_create(**values)

    return make
