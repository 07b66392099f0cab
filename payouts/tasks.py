"""Payout tasks: take ids, return early when done, call one service."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.utils import timezone

from core.actors import system_actor
from payouts import selectors, services
from payouts.models import PayoutPeriod

logger = logging.getLogger(__name__)

BUILD_JOB = "payout-build"
# The sweeper looks for leftovers (late payments) in periods closed within this many days; a late
# verification of any age also queues its period's build at once (payouts.services.drift).
LEFTOVER_LOOKBACK_DAYS = 120


@shared_task(bind=True, max_retries=5, default_retry_delay=60)
def payout_period_build_task(self, period_id: int) -> int:
    """Build the payout requests of a closed period, or its leftovers once built (set-based; see
    ``payout_period_build``). Idempotent: nothing eligible left means nothing is written."""
    period = PayoutPeriod.objects.filter(pk=period_id).first()
    if period is None or period.status != PayoutPeriod.Status.CLOSED:
        return 0
    return len(services.payout_period_build(period=period, actor=system_actor(BUILD_JOB)))


@shared_task
def build_closed_periods() -> int:
    """Beat sweeper: builds closed periods whose build was lost (broker down, worker crash) and
    the leftovers of recently closed ones (payments verified late). One failing period is logged
    and listed (``period_build_failed``); the others are still built."""
    since = timezone.now() - dt.timedelta(days=LEFTOVER_LOOKBACK_DAYS)
    periods = PayoutPeriod.objects.filter(status=PayoutPeriod.Status.CLOSED).select_related(
        "organization"
    )
    unbuilt = list(periods.filter(built_at__isnull=True).order_by("pk"))
    recent = [
        p
        for p in periods.filter(built_at__isnull=False, closed_at__gte=since).order_by("pk")
        if selectors.period_has_leftovers(period=p)
    ]
    built = 0
    for period in unbuilt + recent:
        try:
            built += payout_period_build_task.run(period.pk)
        except Exception as exc:  # one bad period must not stop the others
            logger.exception("building payout period %s failed", period.pk)
            services.period_build_failed(period=period, error=exc, actor=system_actor(BUILD_JOB))
        else:
            services.period_build_recovered(period=period, actor=system_actor(BUILD_JOB))
    return built
