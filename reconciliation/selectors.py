"""Reads of reconciliation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.db.models import QuerySet

from core.models import AccountingPeriod, Organization
from reconciliation.models import (
    BankStatement,
    ProviderReport,
    ProviderReportFile,
    ReconciliationItem,
    ReconciliationRun,
)


def report_list(*, organization: Organization, filters: dict | None = None) -> QuerySet:
    filters = filters or {}
    qs = ProviderReport.objects.filter(organization=organization)
    if filters.get("provider"):
        qs = qs.filter(provider=filters["provider"])
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    return qs


def report_file_parts(*, report: ProviderReport) -> Iterator[bytes]:
    """The imported file, byte for byte, part by part (one part in memory at a time)."""
    ids = ProviderReportFile.objects.filter(report=report).order_by("part")
    for pk in ids.values_list("pk", flat=True):
        yield bytes(ProviderReportFile.objects.values_list("data", flat=True).get(pk=pk))


def report_file_bytes(*, report: ProviderReport) -> bytes:
    return b"".join(report_file_parts(report=report))


def run_list(*, organization: Organization, filters: dict | None = None) -> QuerySet:
    filters = filters or {}
    qs = ReconciliationRun.objects.filter(organization=organization)
    if filters.get("dry_run") is not None:
        qs = qs.filter(dry_run=filters["dry_run"])
    if filters.get("trigger"):
        qs = qs.filter(trigger=filters["trigger"])
    if filters.get("date"):
        qs = qs.filter(period_start__lte=filters["date"], period_end__gte=filters["date"])
    return qs


def run_items(*, run: ReconciliationRun, category: str | None = None) -> QuerySet:
    """The run's lines (``run_id__any_of``: see ``RunItemPagination``)."""
    qs = ReconciliationItem.objects.filter(run_id__any_of=[run.pk])
    if category:
        qs = qs.filter(category__in=category.split(","))
    return qs.order_by("id")


def statement_list(*, organization: Organization) -> QuerySet:
    return BankStatement.objects.filter(organization=organization).prefetch_related("lines")


def period_list(*, organization: Organization, filters: dict | None = None) -> QuerySet:
    filters = filters or {}
    qs = AccountingPeriod.objects.filter(organization=organization)
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("date"):
        qs = qs.filter(start__lte=filters["date"], end__gte=filters["date"])
    return qs.order_by("start")


def adjustments_of_period(*, period: AccountingPeriod) -> QuerySet:
    """The adjustments booked in ``period``: the rows of its ``adjustments`` figure."""
    from reconciliation.services.figures import figure_adjustments

    return figure_adjustments(
        organization_id=period.organization_id, start=period.start, end=period.end
    )


def reports_unfinished_blockers(*, organization, start: dt.date, end: dt.date) -> list[dict]:
    """A close blocker: reports still importing whose rows touch the period."""
    return [
        {
            "kind": "report_importing",
            "id": report.pk,
            "message": f"Report #{report.pk} is still importing.",
        }
        for report in ProviderReport.objects.filter(
            organization=organization,
            status=ProviderReport.Status.IMPORTING,
            created_at__date__lte=end,
        )
    ]
