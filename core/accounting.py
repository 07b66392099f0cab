"""The accounting period, as the kernel sees it: "is this date closed?", and the close registries.

One accounting period per organisation and date (``core.models.AccountingPeriod``; a month by
default). The kernel consults it and names no domain:

- ``accounting_period_guard(organization=, date=)`` raises ``409 period_closed`` when ``date``
  (a local date, or an aware datetime converted to the organisation's zone) falls in a closed
  period. Kernel services call it before a change dated in a period (a refund today, a manual
  verification, ...): nothing is written when it refuses. Called inside the change's
  transaction, it holds the period ``FOR SHARE`` until the change commits, so the close (which
  takes the row ``FOR UPDATE``) and the change serialise (``core.locks``).
- ``accounting_adjustment_date(organization=, date=)``: where a late change about ``date`` is
  booked instead: ``date`` itself when its period is open, else the first day of the next
  period that is not closed (or the day after the last closed period when none is defined yet).
- ``register_close_blocker(name, fn)``: ``fn(*, organization, start, end) -> list[dict]`` lists
  what keeps the period from closing (each dict: ``kind``, ``id``, ``message``). The exception
  queue's blocking cases are always consulted by the close service; domains add their own.
- ``register_close_reaction(name, fn)``: ``fn(*, period, actor)`` runs inside the close
  transaction after the period is closed (a domain freezes its figures, ...). An exception in it
  rolls the close back.

The close flow itself (create, close, reopen, figures, API, admin) is ``reconciliation``'s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.utils import timezone

from core.errors import CoreError
from core.locks import accounting_period_share_lock
from core.models import AccountingPeriod, Organization

Blocker = Callable[..., list[dict]]
Reaction = Callable[..., None]
_blockers: dict[str, Blocker] = {}
_reactions: dict[str, Reaction] = {}


def register_close_blocker(name: str, fn: Blocker) -> None:
    """Add a blocker under ``name`` (``<app>.<what>``); registering a name again replaces it."""
    _blockers[name] = fn


def register_close_reaction(name: str, fn: Reaction) -> None:
    _reactions[name] = fn


def close_blockers(*, organization: Organization, start: dt.date, end: dt.date) -> list[dict]:
    """Every registered blocker's findings for ``[start, end]``, each tagged with its source."""
    found: list[dict] = []
    for name, fn in _blockers.items():
        for item in fn(organization=organization, start=start, end=end) or []:
            found.append({"source": name, **item})
    return found


def close_reactions_run(*, period: AccountingPeriod, actor) -> None:
    for fn in _reactions.values():
        fn(period=period, actor=actor)


def _local_date(organization: Organization, value: dt.date | dt.datetime) -> dt.date:
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value, organization.tz)
        return value.date()
    return value


def accounting_period_at(
    *, organization: Organization, date: dt.date | dt.datetime, share_lock: bool = False
) -> AccountingPeriod | None:
    """The accounting period ``date`` falls in, or None when none is defined for it.

    ``share_lock``: read it ``FOR SHARE`` (``core.locks``), for a change that decides by its
    status inside its transaction (a close of it waits for the change, or the change waits for
    the close and then sees it closed)."""
    day = _local_date(organization, date)
    if share_lock:
        return accounting_period_share_lock(organization_id=organization.pk, day=day)
    return AccountingPeriod.objects.filter(
        organization=organization, start__lte=day, end__gte=day
    ).first()


def accounting_period_is_closed(*, organization: Organization, date: dt.date | dt.datetime) -> bool:
    day = _local_date(organization, date)
    return AccountingPeriod.objects.filter(
        organization=organization,
        start__lte=day,
        end__gte=day,
        status=AccountingPeriod.Status.CLOSED,
    ).exists()


def accounting_period_guard(
    *, organization: Organization, date: dt.date | dt.datetime, what: str = "This change"
) -> None:
    """Refuse (409 ``period_closed``) a change dated in a closed accounting period.

    Inside a transaction (PostgreSQL) it also locks the period ``FOR SHARE`` until the change
    commits (``core.locks``), so a close cannot slip between this check and the change: call it
    in the change's transaction, before any other lock (the period comes first in the lock
    order). Outside a transaction it only checks (an early refusal, before anything is written).
    """
    day = _local_date(organization, date)
    period = accounting_period_share_lock(organization_id=organization.pk, day=day)
    if period is not None and period.is_closed:
        raise CoreError.PERIOD_CLOSED.error(
            f"{what} is dated {day.isoformat()}, in the accounting period "
            f"{period.start.isoformat()}..{period.end.isoformat()}, which is closed."
        )


def accounting_adjustment_date(
    *, organization: Organization, date: dt.date | dt.datetime
) -> dt.date:
    """The date a late change about ``date`` is booked on: ``date`` when its period is open,
    else the first day after the run of closed periods that follows it."""
    day = _local_date(organization, date)
    closed = AccountingPeriod.objects.filter(
        organization=organization, end__gte=day, status=AccountingPeriod.Status.CLOSED
    ).order_by("start")
    for period in closed:
        if period.start > day:
            break  # an open gap before this closed period
        day = period.end + dt.timedelta(days=1)
    return day
