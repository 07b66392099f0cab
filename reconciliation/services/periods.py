"""Accounting periods: create, close (refused before the period has ended, or while blocking
cases fall in it), reopen.

The period row is the kernel's (``core.models.AccountingPeriod``, consulted by
``core.accounting.accounting_period_guard``); the flow is here. A close is refused (409
``period_not_ended``) while today, in the organisation's time zone and by its clock
(``core.clock``: the test clock in the sandbox), is on or before the period's last day: a
payment of a later day of the month would land in a closed period. It then consults the exception
queue's blocking cases of the period (``exceptionqueue.selectors.exception_blocking_list``: the
payouts', billing's, appointments' and reconciliation's blocking kinds all land there) and every
blocker a domain registered with ``core.accounting.register_close_blocker``; then runs the
registered close reactions and records the period's figures in an append-only event row.
"""

from __future__ import annotations

import calendar
import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.accounting import close_blockers, close_reactions_run
from core.audit import save_audited
from core.clock import clock_today
from core.dates import FIRST_DAY, LAST_DAY, dates_check
from core.errors import CoreError
from core.fsm import transition_apply
from core.locks import accounting_period_creation_lock
from core.models import AccountingPeriod, Organization
from exceptionqueue.selectors import exception_blocking_list
from reconciliation import errors
from reconciliation.events import period_event
from reconciliation.locks import organization_lock, period_lock
from reconciliation.models import AccountingPeriodEvent
from reconciliation.services.figures import period_figures

Action = AccountingPeriodEvent.Action
REOPEN_PERMISSION = "core.reopen_accountingperiod"
NOT_ENDED = errors.PERIOD_NOT_ENDED.code  # the blocker's kind, and the refusal's code


def month_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    last = calendar.monthrange(day.year, day.month)[1]
    return day.replace(day=1), day.replace(day=last)


def accounting_period_dates_check(*, start: dt.date, end: dt.date) -> None:
    """400 ``invalid`` for a period outside the dates payops accepts (``core.dates``: its pages,
    figures and local-day bounds would overflow Python's dates) or ending before it starts."""
    dates_check(
        start=start,
        end=end,
        sentence=(
            f"An accounting period must lie between {FIRST_DAY} and {LAST_DAY}; "
            f"{start}..{end} does not."
        ),
    )
    if end < start:
        raise errors.INVALID.error(
            "The period ends before it starts.", fields={"end": ["Before start."]}
        )


@transaction.atomic
def accounting_period_create(
    *, organization: Organization, start: dt.date, end: dt.date, actor
) -> AccountingPeriod:
    accounting_period_dates_check(start=start, end=end)
    organization_lock(organization)
    # Changes dated where no period exists yet hold this shared until they commit (core.locks).
    accounting_period_creation_lock(organization_id=organization.pk)
    overlap = AccountingPeriod.objects.filter(
        organization=organization, start__lte=end, end__gte=start
    ).first()
    if overlap is not None:
        raise errors.PERIOD_OVERLAP.error(
            f"The accounting period {overlap.start}..{overlap.end} (#{overlap.pk}) already "
            "covers part of these dates."
        )
    period = AccountingPeriod(organization=organization, start=start, end=end)
    try:
        with transaction.atomic():
            save_audited(period, actor=actor, reason="accounting period created")
    except IntegrityError:
        raise errors.PERIOD_OVERLAP.error() from None
    period_event(period, action=Action.CREATED, actor=actor)
    return period


def accounting_period_month(*, organization: Organization, day: dt.date, actor) -> AccountingPeriod:
    """The period holding ``day``, created as its calendar month when none is defined."""
    start, end = month_bounds(day)
    existing = AccountingPeriod.objects.filter(
        organization=organization, start__lte=day, end__gte=day
    ).first()
    return existing or accounting_period_create(
        organization=organization, start=start, end=end, actor=actor
    )


def accounting_period_not_ended(*, period: AccountingPeriod) -> dict | None:
    """The blocker "the period has not ended yet": today, on the organisation's clock and in its
    time zone, is on or before the period's last day. None once the period has ended."""
    organization = period.organization
    today = clock_today(organization)
    if today > period.end:
        return None
    closable_from = accounting_period_closable_from(period=period)
    when = f"it can be closed from {closable_from}" if closable_from else "it can never be closed"
    return {
        "source": "reconciliation",
        "kind": NOT_ENDED,
        "id": period.pk,
        "message": (
            f"The period {period.start}..{period.end} has not ended: today is {today} in "
            f"{organization.tz.key}; {when}."
        ),
        "today": today.isoformat(),
        "closable_from": closable_from.isoformat() if closable_from else None,
    }


def accounting_period_closable_from(*, period: AccountingPeriod) -> dt.date | None:
    """The first day ``period`` may be closed: the day after its last. None when its last day is
    the calendar's (a period stored before the accepted dates were checked): it never ends."""
    if period.end >= dt.date.max:
        return None
    return period.end + dt.timedelta(days=1)


def accounting_period_blockers(*, period: AccountingPeriod) -> list[dict]:
    """What keeps ``period`` from closing: its not having ended yet, blocking cases, then the
    domains' own blockers."""
    not_ended = accounting_period_not_ended(period=period)
    cases = exception_blocking_list(
        organization=period.organization, start=period.start, end=period.end
    ).order_by("id")
    found = [
        {
            "source": "exceptionqueue",
            "kind": case.kind,
            "id": case.pk,
            "message": case.message,
        }
        for case in cases
    ]
    return (
        ([not_ended] if not_ended else [])
        + found
        + close_blockers(organization=period.organization, start=period.start, end=period.end)
    )


def accounting_period_close(*, period: AccountingPeriod | int, actor) -> AccountingPeriod:
    """Close the period, or refuse: 409 ``period_not_ended`` before the day after its last day,
    else 409 ``period_blocked`` naming every blocker. Either refusal lists the blocking cases
    (``fields.blocking_cases``).

    The refusal is recorded (an event row) in its own transaction, after the refused one.
    """
    blockers: list[dict] = []
    with transaction.atomic():
        period = period_lock(period)
        if period.status == AccountingPeriod.Status.CLOSED:
            raise CoreError.TRANSITION_NOT_ALLOWED.error("This accounting period is closed.")
        blockers = accounting_period_blockers(period=period)
        if not blockers:
            return _close(period, actor=actor)
    period_event(period, action=Action.CLOSE_REFUSED, actor=actor, data={"blockers": blockers})
    not_ended = next((b for b in blockers if b["kind"] == NOT_ENDED), None)
    cases = [b for b in blockers if b is not not_ended]
    fields = {"blocking_cases": [f"{b['kind']} #{b['id']}: {b['message']}" for b in cases]}
    if not_ended is not None:
        raise errors.PERIOD_NOT_ENDED.error(not_ended["message"], fields=fields if cases else None)
    names = "; ".join(f"{b['kind']} #{b['id']}" for b in cases[:20])
    more = f" and {len(cases) - 20} more" if len(cases) > 20 else ""
    raise errors.PERIOD_BLOCKED.error(
        f"{len(cases)} blocking case(s) fall in {period.start}..{period.end}: {names}{more}.",
        fields=fields,
    )


def _close(period: AccountingPeriod, *, actor) -> AccountingPeriod:
    from reconciliation.services.runs import local_bounds

    transition_apply(period, "close", what="accounting period")
    period.closed_at = timezone.now()
    period.closed_by = actor
    save_audited(period, actor=actor, reason="accounting period closed")
    lo, hi = local_bounds(period.organization, period.start, period.end)
    figures = period_figures(
        organization_id=period.organization_id, lo=lo, hi=hi, start=period.start, end=period.end
    )
    close_reactions_run(period=period, actor=actor)
    period_event(period, action=Action.CLOSED, actor=actor, data={"figures": figures})
    return period


@transaction.atomic
def accounting_period_reopen(
    *, period: AccountingPeriod | int, actor, reason: str, check_permission: bool = True
) -> AccountingPeriod:
    """Reopen a closed period: needs ``core.reopen_accountingperiod`` and a reason."""
    reason = (reason or "").strip()
    if not reason:
        raise CoreError.REASON_REQUIRED.error(
            "Say why the period is reopened.", fields={"reason": ["This field is required."]}
        )
    if check_permission and not actor.has_perm(REOPEN_PERMISSION):
        raise CoreError.PERMISSION_DENIED.error("You may not reopen accounting periods.")
    period = period_lock(period)
    transition_apply(period, "reopen", what="accounting period")
    period.closed_at = None
    period.closed_by = None
    save_audited(period, actor=actor, reason=f"reopened: {reason}")
    period_event(period, action=Action.REOPENED, actor=actor, comment=reason)
    return period
