"""Reconciliation tasks: take ids, load, return early when done, call one service.

The nightly run itself is due work (``reconciliation.services.nightly``), run by the kernel's
beat task every minute per organisation in its own time zone; ``reconcile_day`` runs one day on
demand in a worker.
"""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from core.actors import system_actor
from core.models import Organization
from reconciliation.models import ReconciliationRun
from reconciliation.services import reconciliation_run


@shared_task(acks_late=True)
def reconcile_day(organization_id: int, day: str) -> int | None:
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        return None
    date = dt.date.fromisoformat(day)
    done = ReconciliationRun.objects.filter(
        organization=organization, period_start=date, trigger=ReconciliationRun.Trigger.NIGHTLY
    ).first()
    if done is not None:
        return done.pk
    run = reconciliation_run(
        organization=organization,
        start=date,
        end=date,
        actor=system_actor("reconciliation"),
        trigger=ReconciliationRun.Trigger.NIGHTLY,
    )
    return run.pk
