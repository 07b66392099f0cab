"""Payout tasks: take ids, return early when done, call one service."""

from __future__ import annotations

from celery import shared_task

from core.actors import system_actor
from payouts.models import PayoutPeriod

BUILD_JOB = "payout-build"


@shared_task(bind=True, max_retries=5, default_retry_delay=60)
def payout_period_build_task(self, period_id: int) -> int:
    """Build the payout requests of a closed period (set-based; see ``payout_period_build``)."""
    from payouts.services import payout_period_build

    period = PayoutPeriod.objects.filter(pk=period_id).first()
    if period is None or period.built_at is not None:
        return 0
    if period.status != PayoutPeriod.Status.CLOSED:
        return 0
    return len(payout_period_build(period=period, actor=system_actor(BUILD_JOB)))


@shared_task
def build_closed_periods() -> int:
    """Beat sweeper: builds closed periods whose build was lost (broker down, worker crash)."""
    ids = list(
        PayoutPeriod.objects.filter(
            status=PayoutPeriod.Status.CLOSED, built_at__isnull=True
        ).values_list("pk", flat=True)
    )
    return sum(payout_period_build_task.run(period_id) for period_id in ids)
