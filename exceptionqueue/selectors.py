"""Reads of the exception queue."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.utils import timezone

from core.models import Organization
from exceptionqueue.models import ExceptionCase


def _local_date(value: dt.date | dt.datetime, organization: Organization) -> dt.date:
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = value.astimezone(organization.tz)
        return value.date()
    return value


def exception_blocking_exists(
    *, organization: Organization, start: dt.date | dt.datetime, end: dt.date | dt.datetime
) -> bool:
    """Is there an open or acknowledged blocking case whose period overlaps [start, end]?

    Dates are inclusive, in the organisation's time zone (datetimes are converted to it).
    """
    return exception_blocking_list(organization=organization, start=start, end=end).exists()


def exception_blocking_list(
    *, organization: Organization, start: dt.date | dt.datetime, end: dt.date | dt.datetime
) -> QuerySet[ExceptionCase]:
    start_date = _local_date(start, organization)
    end_date = _local_date(end, organization)
    return ExceptionCase.objects.filter(
        organization=organization,
        blocking=True,
        status__in=ExceptionCase.ACTIVE_STATUSES,
        period_start__lte=end_date,
        period_end__gte=start_date,
    )


def exception_list(
    *, organization: Organization, filters: dict | None = None
) -> QuerySet[ExceptionCase]:
    filters = filters or {}
    qs = ExceptionCase.objects.filter(organization=organization).select_related(
        "branch", "subject_type"
    )
    if filters.get("kind"):
        qs = qs.filter(kind__in=str(filters["kind"]).split(","))
    if filters.get("status"):
        qs = qs.filter(status__in=str(filters["status"]).split(","))
    if filters.get("branch"):
        qs = qs.filter(branch__code=filters["branch"])
    if filters.get("severity"):
        qs = qs.filter(severity__in=str(filters["severity"]).split(","))
    if filters.get("blocking") is not None:
        qs = qs.filter(blocking=filters["blocking"])
    return qs


def exception_get(*, organization: Organization, case_id: int) -> ExceptionCase:
    return ExceptionCase.objects.get(organization=organization, pk=case_id)
