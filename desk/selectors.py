"""Reads of the desk: which organisations a person may open, and a period's headline figures.

Everything is read through the owning apps' selectors and services (reconciliation's figures, the
exception queue's blocking list); the desk writes nothing of its own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext_noop

from core.models import AccountingPeriod, Organization
from exceptionqueue.models import ExceptionCase
from exceptionqueue.selectors import exception_blocking_list
from reconciliation.models import ReconciliationRun
from reconciliation.services import accounting_period_blockers, local_bounds
from reconciliation.services.figures import FIGURES, period_figures

# The accounting period's statuses (a kernel model's labels), translated by the desk's catalogue.
PERIOD_STATUS_LABELS = [gettext_noop("Open"), gettext_noop("Closing"), gettext_noop("Closed")]
# The headline figures, in the order the desk shows them (reconciliation's names).
HEADLINE = ("verified", "refunded", "fees", "paid_out", "in_flight", "adjustments")


def desk_organizations(*, user) -> QuerySet[Organization]:
    """The organisations ``user`` may open on the desk: their memberships (a superuser: all)."""
    if user.is_superuser:
        return Organization.objects.order_by("name")
    return Organization.objects.filter(members__user=user).order_by("name").distinct()


def desk_default_organization(*, user) -> Organization | None:
    """Where the desk opens: the person's first membership (a superuser: the first by name)."""
    first = Organization.objects.filter(members__user=user).order_by("members__created_at").first()
    return first or desk_organizations(user=user).first()


def desk_organization(*, user, slug: str) -> Organization:
    """The organisation ``slug`` if ``user`` may open it, else 404 (never a hint it exists)."""
    organization = desk_organizations(user=user).filter(slug=slug).first()
    if organization is None:
        raise Http404("No such organisation.")
    return organization


def desk_period(*, organization: Organization, period_id: int) -> AccountingPeriod:
    period = AccountingPeriod.objects.filter(organization=organization, pk=period_id).first()
    if period is None:
        raise Http404("No such accounting period.")
    return period


def period_bounds(period: AccountingPeriod) -> tuple[dt.datetime, dt.datetime]:
    return local_bounds(period.organization, period.start, period.end)


@dataclass
class PeriodOverview:
    period: AccountingPeriod
    figures: dict[str, dict[str, Decimal]]  # currency -> name -> amount
    open_cases: int
    blocking_cases: int
    last_run: ReconciliationRun | None

    @property
    def currencies(self) -> list[str]:
        return sorted(self.figures)


def period_money(period: AccountingPeriod) -> dict[str, dict[str, Decimal]]:
    lo, hi = period_bounds(period)
    raw = period_figures(
        organization_id=period.organization_id, lo=lo, hi=hi, start=period.start, end=period.end
    )
    return {
        currency: {name: Decimal(values.get(name, "0")) for name in FIGURES}
        for currency, values in raw.items()
    }


def period_cases(period: AccountingPeriod) -> QuerySet[ExceptionCase]:
    """Active cases (blocking or not) whose dates overlap the period."""
    return ExceptionCase.objects.filter(
        organization=period.organization,
        status__in=ExceptionCase.ACTIVE_STATUSES,
        period_start__lte=period.end,
        period_end__gte=period.start,
    )


def period_last_run(period: AccountingPeriod) -> ReconciliationRun | None:
    return (
        ReconciliationRun.objects.filter(
            organization=period.organization,
            dry_run=False,
            period_start__lte=period.end,
            period_end__gte=period.start,
        )
        .order_by("-created_at", "-id")
        .first()
    )


def period_overview(period: AccountingPeriod) -> PeriodOverview:
    return PeriodOverview(
        period=period,
        figures=period_money(period),
        open_cases=period_cases(period).count(),
        blocking_cases=exception_blocking_list(
            organization=period.organization, start=period.start, end=period.end
        ).count(),
        last_run=period_last_run(period),
    )


def period_blockers(period: AccountingPeriod) -> list[dict]:
    """What keeps the period from closing (reconciliation's list), each with its case if any."""
    if period.is_closed:
        return []
    blockers = accounting_period_blockers(period=period)
    ids = [b["id"] for b in blockers if b.get("source") == "exceptionqueue"]
    cases = ExceptionCase.objects.select_related("branch").in_bulk(ids)
    for blocker in blockers:
        if blocker.get("source") == "exceptionqueue":
            blocker["case"] = cases.get(blocker["id"])
    return blockers


def periods_of(organization: Organization) -> list[AccountingPeriod]:
    return list(AccountingPeriod.objects.filter(organization=organization).order_by("-start"))
