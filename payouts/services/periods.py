"""Accounting periods: created without overlaps, closed (which builds their payouts) and
reopened."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django_fsm import can_proceed

from core.audit import save_audited
from core.errors import CoreError
from core.fsm import transition_apply
from core.models import Organization
from core.queueing import enqueue_on_commit
from exceptionqueue.selectors import exception_blocking_exists
from payouts import locks
from payouts.errors import PayoutError
from payouts.models import PayoutPeriod

PERIOD_TARGETS = {
    PayoutPeriod.Status.CLOSING: "start_closing",
    PayoutPeriod.Status.OPEN: "reopen",
    PayoutPeriod.Status.CLOSED: "close",
}
BUILD_TASK = "payouts.tasks.payout_period_build_task"


@transaction.atomic
def period_create(
    *,
    organization: Organization,
    kind: str,
    start_date: dt.date,
    end_date: dt.date,
    actor,
    name: str = "",
) -> PayoutPeriod:
    if end_date < start_date:
        raise PayoutError.INVALID_PERIOD.error(
            "The period ends before it starts.",
            fields={"end_date": ["Must not be before start_date."]},
        )
    # Serialise period creation per organisation, then refuse overlaps.
    locks.organization_lock(organization)
    if PayoutPeriod.objects.filter(
        organization=organization, start_date__lte=end_date, end_date__gte=start_date
    ).exists():
        raise CoreError.PERIOD_OVERLAP.error("The period overlaps another accounting period.")
    period = PayoutPeriod(
        organization=organization, kind=kind, name=name, start_date=start_date, end_date=end_date
    )
    save_audited(period, actor=actor, reason="period created")
    return period


@transaction.atomic
def period_transition(*, period: PayoutPeriod, to: str, actor, comment: str = "") -> PayoutPeriod:
    """open -> closing -> closed (closing -> open to reopen). Closing needs no blocking exception
    in the range; the close locks the organisation's recipients (so no payout request races it)
    and queues the set-based build of the period's payout requests."""
    if to not in PERIOD_TARGETS:
        raise PayoutError.INVALID_TRANSITION.error(f"Unknown target {to!r}.")
    # Lock order: the period, then the recipients (as the build). A second "Close" during a build
    # waits here for the build to commit, then finds the period closed: 409.
    period = locks.period_lock(period)
    locks.recipients_lock(period.organization_id)
    refused = f"A {period.status} period cannot become {to}."
    if not can_proceed(getattr(period, PERIOD_TARGETS[to])):
        raise CoreError.TRANSITION_NOT_ALLOWED.error(refused)
    if to == PayoutPeriod.Status.CLOSED and exception_blocking_exists(
        organization=period.organization, start=period.start_date, end=period.end_date
    ):
        raise CoreError.PERIOD_BLOCKED.error(
            "Open blocking exceptions fall in this period; resolve them first."
        )
    transition_apply(period, PERIOD_TARGETS[to], what="period", message=refused)
    if to == PayoutPeriod.Status.CLOSED:
        period.closed_at = timezone.now()
        # The beat sweeper `build_closed_periods` builds it too if the broker is down now.
        enqueue_on_commit(BUILD_TASK, period.pk)
    save_audited(period, actor=actor, reason=comment or f"period {to}")
    return period
