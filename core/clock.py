"""The one place code that decides by time reads it: real time, or the organisation's test clock.

Billing attempts, retries, dunning, grace, expiries and every other due-date decision call
``clock_now(organization)`` instead of ``timezone.now()``. In the sandbox an organisation can set a
test clock (``POST /api/v1/sandbox/clock/``); while it is set, that organisation's time is the
clock's, and it moves only forward, and only so far in one step (``clock_furthest``). With the
sandbox off, test clocks are ignored: production time
is always real time. Tests move time with the clock, or ``time-machine``, never with sleeps.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.audit import save_audited, with_history
from core.errors import CoreError, RequestError
from core.models import Organization, TestClock

NEEDS_OFFSET = "A test clock time needs its UTC offset (ISO 8601, e.g. 2026-12-01T09:00:00+04:00)."


@dataclass(frozen=True)
class ClockHorizon:
    """How far one move of an organisation's test clock may go: up to ``until``, because of
    ``why`` (a phrase, e.g. "two intervals of the shortest subscription plan, 1 month")."""

    until: dt.datetime
    why: str


Horizon = Callable[..., ClockHorizon | None]
_horizons: dict[str, Horizon] = {}


def register_clock_horizon(name: str, horizon: Horizon) -> None:
    """Add a domain's limit on one move of the test clock, under ``name`` (``<app>.<what>``).

    ``horizon(*, organization, now) -> ClockHorizon | None``: the furthest moment the clock may
    reach in one move from ``now`` (its current time), or None when the domain sets no limit.
    A domain whose due work steps through time (billing adds a subscription's periods one by
    one up to the new time, each with its attempt) registers one, so that a single
    ``POST sandbox/clock/`` does a bounded amount of work, as Stripe's test clocks do."""
    _horizons[name] = horizon


def clock_furthest(*, organization: Organization, now: dt.datetime) -> ClockHorizon | None:
    """The earliest of the registered horizons from ``now``: the furthest moment one move of the
    organisation's test clock may reach; None when no domain limits it."""
    found = [
        horizon
        for limit in _horizons.values()
        if (horizon := limit(organization=organization, now=now)) is not None
    ]
    return min(found, key=lambda horizon: horizon.until, default=None)


def clock_frozen_now(organization: Organization | int | None) -> dt.datetime | None:
    """The organisation's test clock time when the sandbox is on and one is set, else None."""
    if organization is not None and settings.PAYOPS_SANDBOX:
        org_id = organization.pk if isinstance(organization, Organization) else organization
        frozen = TestClock.objects.filter(organization_id=org_id).values_list("now", flat=True)
        for value in frozen:
            return value
    return None


def clock_now(organization: Organization | int | None = None) -> dt.datetime:
    """Now, for ``organization``: its test clock when the sandbox is on and one is set."""
    return clock_frozen_now(organization) or timezone.now()


def clock_today(organization: Organization) -> dt.date:
    """Today in the organisation's time zone, by ``clock_now``."""
    return timezone.localtime(clock_now(organization), organization.tz).date()


def test_clock_get(*, organization: Organization) -> TestClock | None:
    return TestClock.objects.filter(organization=organization).first()


@transaction.atomic
def test_clock_advance(*, organization: Organization, now: dt.datetime, actor) -> TestClock:
    """Set (or move forward) the organisation's test clock; never backwards (409
    ``clock_backwards``).

    Never further in one move than ``clock_furthest`` from the clock's current time (or real
    time, for a new clock): 400 ``clock_too_far`` with a field error on ``now`` naming the
    furthest allowed moment, and nothing changed. Billing's rule, as Stripe's: two intervals of
    the shortest plan among the organisation's subscriptions that are live or suspended (a monthly
    plan: two months; yearly: two years; daily: two days); no limit without such a subscription.
    The due work a move runs is thus bounded by the data (a few periods per subscription, each
    with its dunning), never by the distance."""
    if not settings.PAYOPS_SANDBOX:
        raise CoreError.NOT_FOUND.error("The sandbox is off.")
    if timezone.is_naive(now):
        raise RequestError.INVALID.error(NEEDS_OFFSET)
    Organization.objects.select_for_update().filter(pk=organization.pk).first()
    clock = TestClock.objects.filter(organization=organization).first()
    if clock is None:
        if now < timezone.now() - dt.timedelta(minutes=1):
            raise CoreError.CLOCK_BACKWARDS.error(
                f"A test clock starts at or after real time ({timezone.now().isoformat()})."
            )
        clock = TestClock(organization=organization, now=now)
    elif now < clock.now:
        raise CoreError.CLOCK_BACKWARDS.error(
            f"The test clock is at {clock.now.isoformat()}; it only moves forward."
        )
    current = clock.now if clock.pk else timezone.now()
    horizon = clock_furthest(organization=organization, now=current)
    if horizon is not None and now > horizon.until:
        until = timezone.localtime(horizon.until, organization.tz).isoformat()
        raise CoreError.CLOCK_TOO_FAR.error(
            f"One move of the test clock reaches at most {until} ({horizon.why}); "
            "move it in steps.",
            fields={"now": [f"At most {until} in one move ({horizon.why})."]},
        )
    clock.now = now
    save_audited(clock, actor=actor, reason=f"test clock set to {now.isoformat()}")
    return clock


@transaction.atomic
def test_clock_delete(*, organization: Organization, actor) -> bool:
    """Return the organisation to real time. True when a clock was set."""
    clock = TestClock.objects.filter(organization=organization).first()
    if clock is None:
        return False
    with_history(clock, actor=actor, reason="test clock removed").delete()
    return True
