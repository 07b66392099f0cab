"""One move of the sandbox test clock goes at most two intervals of the shortest subscription
plan ahead (``billing.services.horizon``, as Stripe's test clocks): a move to 9998 used to run
the due work for hours, adding every monthly period up to then, one by one, with its attempt."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest
from django.utils import timezone

from billing import services
from billing.models import BillingPeriod
from billing.services.calendar import next_start
from core.clock import clock_now
from core.models import TestClock

pytestmark = pytest.mark.django_db


def local_now(organization) -> dt.datetime:
    return timezone.localtime(clock_now(organization), organization.tz)


def months_ahead(moment: dt.datetime, months: int) -> dt.datetime:
    day = next_start(moment.date(), interval="month", count=months, anchor_day=moment.day)
    return dt.datetime.combine(day, moment.timetz())


@pytest.fixture
def member(organization, subscribe):
    """A monthly member since today (the organisation's date, by real time)."""
    return subscribe(start=local_now(organization).date().isoformat())


def freeze(api, organization) -> dt.datetime:
    """Set the test clock a minute after real time; returns it, in the organisation's zone."""
    start = local_now(organization) + dt.timedelta(minutes=1)
    answer = api.post("/api/v1/sandbox/clock/", {"now": start.isoformat()}, format="json")
    assert answer.status_code == 200, answer.content
    return start


def test_a_move_beyond_two_months_of_a_monthly_plan_is_refused_and_changes_nothing(
    api, organization, member
):
    periods = BillingPeriod.objects.count()
    start = freeze(api, organization)
    furthest = months_ahead(start, 2)
    answer = api.post(
        "/api/v1/sandbox/clock/",
        {"now": (furthest + dt.timedelta(minutes=1)).isoformat()},
        format="json",
    )
    assert answer.status_code == 400, answer.content
    error = answer.json()["error"]
    assert error["code"] == "clock_too_far"
    assert error["fields"]["now"] == [
        f"At most {furthest.isoformat()} in one move "
        "(two intervals of the shortest subscription plan, 1 month)."
    ]
    assert clock_now(organization) == start  # the clock did not move
    assert BillingPeriod.objects.count() == periods  # no due work ran


def test_the_move_to_9998_that_ran_for_hours_is_refused_at_once(api, organization, member):
    periods = BillingPeriod.objects.count()
    began = time.monotonic()
    answer = api.post("/api/v1/sandbox/clock/", {"now": "9998-12-31T00:00:00+04:00"}, "json")
    assert time.monotonic() - began < 5
    assert answer.status_code == 400, answer.content
    assert answer.json()["error"]["code"] == "clock_too_far"
    assert answer.json()["error"]["fields"]["now"][0].startswith("At most 2")
    assert not TestClock.objects.exists()  # a first set is measured from real time
    assert BillingPeriod.objects.count() == periods  # no due work ran


def test_the_largest_allowed_move_succeeds_and_the_next_is_measured_from_the_clock(
    api, organization, member
):
    furthest = months_ahead(freeze(api, organization), 2)
    assert api.get("/api/v1/sandbox/clock/").json()["furthest"] == furthest.isoformat()
    answer = api.post("/api/v1/sandbox/clock/", {"now": furthest.isoformat()}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["ran"]["billing_periods_created"] == 2
    assert clock_now(organization) == furthest
    following = months_ahead(furthest, 2)
    assert api.get("/api/v1/sandbox/clock/").json()["furthest"] == following.isoformat()
    too_far = api.post(
        "/api/v1/sandbox/clock/",
        {"now": (following + dt.timedelta(seconds=1)).isoformat()},
        format="json",
    )
    assert too_far.status_code == 400
    (message,) = too_far.json()["error"]["fields"]["now"]
    assert message.startswith(f"At most {following.isoformat()}")
    assert clock_now(organization) == furthest


def test_the_shortest_plan_sets_the_limit_and_cancelled_or_paused_subscriptions_do_not_count(
    api, organization, member, subscribe, system_user
):
    daily = services.plan_create(
        organization=organization,
        code="daily",
        name="Day pass",
        amount=Decimal("2000.00"),
        currency="AMD",
        interval="day",
        actor=system_user,
    )
    start = freeze(api, organization)
    pass_holder = subscribe(start=start.date().isoformat(), plan=daily)
    furthest = api.get("/api/v1/sandbox/clock/").json()["furthest"]
    assert furthest == (start + dt.timedelta(days=2)).isoformat()
    refused = api.post(
        "/api/v1/sandbox/clock/",
        {"now": (start + dt.timedelta(days=3)).isoformat()},
        format="json",
    )
    assert refused.status_code == 400
    assert "1 day" in refused.json()["error"]["fields"]["now"][0]

    services.subscription_cancel(subscription=pass_holder, at="now", actor=system_user)
    later = months_ahead(start, 2)
    moved = api.post("/api/v1/sandbox/clock/", {"now": later.isoformat()}, format="json")
    assert moved.status_code == 200, moved.content

    # A paused subscription adds no period (its schedule restarts on resume): no limit from it.
    services.subscription_pause(subscription=member, actor=system_user, comment="injury")
    assert api.get("/api/v1/sandbox/clock/").json()["furthest"] is None
    much_later = months_ahead(later, 5)
    moved = api.post("/api/v1/sandbox/clock/", {"now": much_later.isoformat()}, format="json")
    assert moved.status_code == 200, moved.content


def test_without_subscriptions_the_clock_moves_freely(api, organization):
    answer = api.post("/api/v1/sandbox/clock/", {"now": "2030-01-31T08:00:00+04:00"}, "json")
    assert answer.status_code == 200, answer.content
    assert api.get("/api/v1/sandbox/clock/").json()["furthest"] is None
