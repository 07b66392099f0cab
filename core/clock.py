"""The one place code that decides by time reads it: real time, or the organisation's test clock.

Billing attempts, retries, dunning, grace, expiries and every other due-date decision call
``clock_now(organization)`` instead of ``timezone.now()``. In the sandbox an organisation can set a
test clock (``POST /api/v1/sandbox/clock/``); while it is set, that organisation's time is the
clock's, and it moves only forward. With the sandbox off, test clocks are ignored: production time
is always real time. Tests move time with the clock, or ``time-machine``, never with sleeps.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.audit import save_audited, with_history
from core.errors import CoreError, RequestError
from core.models import Organization, TestClock

NEEDS_OFFSET = "A test clock time needs its UTC offset (ISO 8601, e.g. 2026-12-01T09:00:00+04:00)."


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
    """Set (or move forward) the organisation's test clock. Never backwards (409)."""
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
    else:
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
