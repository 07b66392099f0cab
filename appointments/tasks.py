"""Appointment tasks: take ids, return early when done, call one service.

Expiring unpaid requests is due work (``appointments.expire``, run every minute by
``core.tasks.run_due_work`` by each organisation's clock); these are the daily ones.
"""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task

from appointments.services import appointments_reconcile_day, customer_context_erase_expired
from core.actors import system_actor
from core.clock import clock_now, clock_today
from core.models import Organization

logger = logging.getLogger(__name__)


@shared_task
def reconcile_yesterday() -> int:
    """Beat, daily: reconcile yesterday for every organisation (each by its own clock). One
    failing organisation is logged; the others still run. Returns how many ran."""
    done = 0
    for organization in Organization.objects.order_by("pk"):
        try:
            reconcile_day.run(organization.pk, None)
            done += 1
        except Exception:  # one organisation must not stop the others
            logger.exception("appointment reconciliation failed for %s", organization.slug)
    return done


@shared_task
def reconcile_day(organization_id: int, date: str | None = None) -> int:
    """Reconcile one organisation's day (ISO date; default: yesterday by its clock)."""
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        return 0
    day = dt.date.fromisoformat(date) if date else clock_today(organization) - dt.timedelta(days=1)
    row = appointments_reconcile_day(
        organization=organization, date=day, actor=system_actor("appointments-reconcile")
    )
    return len(row.findings)


@shared_task
def customer_context_retention() -> int:
    """Beat, daily: erase customer contexts past the retention period, every organisation."""
    erased = 0
    actor = system_actor("appointments-retention")
    for organization in Organization.objects.order_by("pk"):
        erased += customer_context_erase_expired(
            organization=organization, now=clock_now(organization), actor=actor
        )["customer_contexts_erased"]
    return erased
