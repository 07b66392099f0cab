"""The billing due work (``core.duework`` runner ``billing.due``): what is due at ``now``.

Run by beat every minute, by ``manage.py run_due_work`` and by ``POST sandbox/clock/``, each
time by the organisation's clock. Every step is idempotent and safe in concurrent runs (the
locks and unique keys of the services it calls), so running it twice does the work once:

1. periods: the next period of every live subscription once it has started (or the cancel of
   one marked to end with its period); only the subscriptions whose periods do not reach today
   are locked;
2. attempts: the first attempt of a period at its due date, a retry at ``next_retry_at`` (made
   in batches of ``DUE_BATCH`` periods, set-based: ``attempts_create_due``; a batch that fails
   is made again one period at a time), each sent to the gateway after its batch's commit, and
   the gateway call of an attempt a killed worker left unsent;
3. link expiry: a payment link past its validity is expired (a failed attempt: link_expired);
4. grace: a subscription with a period unpaid at its block date is suspended (in batches of
   ``SUSPEND_BATCH``, set-based: ``subscriptions_suspend``); an entitlement past its block date
   becomes inactive;
5. reminders: queued reminders are claimed in batches by one UPDATE each, then sent.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from billing.locks import subscription_lock
from billing.models import Attempt, BillingPeriod, Subscription
from billing.services.attempts import attempt_make, attempt_send
from billing.services.attempts_due import DUE_BATCH, attempts_create_due
from billing.services.dunning import notifications_send_queued
from billing.services.entitlement import entitlement_refresh
from billing.services.grace import GRACE_OVER, SUSPEND_BATCH, subscriptions_suspend
from billing.services.periods import periods_extend
from billing.services.settings import billing_settings_get
from payments.models import Payment

logger = logging.getLogger("payops.billing")

BILLABLE = (*Subscription.LIVE, Subscription.Status.SUSPENDED)


def billing_due_work(*, organization, now, actor) -> dict[str, int]:
    counts = {
        "billing_periods_created": 0,
        "billing_attempts_created": 0,
        "billing_links_expired": 0,
        "billing_suspended": 0,
        "billing_entitlement_changes": 0,
        "billing_reminders_sent": 0,
    }
    for subscription in _to_extend(organization, now=now).only("pk"):
        counts["billing_periods_created"] += periods_extend(
            subscription=subscription, actor=actor, now=now
        )
    counts["billing_attempts_created"] = _attempts(organization, now=now, actor=actor)
    counts["billing_links_expired"] = _expire_links(organization, now=now, actor=actor)
    suspended, changed = _grace(organization, now=now, actor=actor)
    counts["billing_suspended"] = suspended
    counts["billing_entitlement_changes"] = changed
    counts["billing_reminders_sent"] = notifications_send_queued(organization=organization)
    return counts


def _to_extend(organization, *, now):
    """The live subscriptions that ``periods_extend`` may change at ``now``: those without a
    regular period reaching today (one filter, so a minute's run does not lock every
    subscription: with a period covering today, ``periods_extend`` adds nothing and cancels
    nothing, since its last regular period is the one that ends last)."""
    today = now.astimezone(organization.tz).date()
    covered = BillingPeriod.objects.filter(
        subscription=OuterRef("pk"), kind=BillingPeriod.Kind.REGULAR, end__gte=today
    )
    return Subscription.objects.filter(
        organization=organization, status__in=Subscription.LIVE
    ).exclude(Exists(covered))


def _attempts(organization, *, now, actor) -> int:
    """Make the due attempts and send the unsent ones; returns how many attempts *this* run
    made (a count of rows before and after would also count a concurrent run's)."""
    due = BillingPeriod.objects.filter(
        organization=organization, subscription__status__in=BILLABLE
    ).filter(
        Q(status=BillingPeriod.Status.SCHEDULED, due_at__lte=now)
        | Q(status=BillingPeriod.Status.RETRYING, next_retry_at__lte=now)
    )
    ids = list(due.order_by("due_at", "pk").values_list("pk", flat=True))
    made_here = 0
    for first in range(0, len(ids), DUE_BATCH):
        batch = ids[first : first + DUE_BATCH]
        try:
            made = attempts_create_due(period_ids=batch, actor=actor, now=now)
        except Exception:  # the batch rolled back: one period at a time, as before
            logger.exception("billing attempts for %s periods failed as a batch", len(batch))
            for period_id in batch:
                try:
                    attempt = attempt_make(period=period_id, actor=actor, now=now)
                except Exception:  # one period's failure must not stop the others
                    logger.exception("billing attempt for period %s failed", period_id)
                    continue
                made_here += bool(getattr(attempt, "made_by_this_call", False))
            continue
        made_here += len(made)  # only the attempts this call created
        for attempt in made:  # the gateway calls, after the batch's commit
            try:
                attempt_send(attempt=attempt, actor=actor)
            except Exception:
                logger.exception("billing attempt %s: sending failed", attempt.pk)
    unsent = Attempt.objects.filter(
        organization=organization,
        status=Attempt.Status.PENDING,
        payment__status=Payment.Status.PENDING,
    ).filter(
        Q(method=Attempt.Method.PAYMENT_LINK, payment__provider_reference__isnull=True)
        | Q(method=Attempt.Method.SAVED_CARD)
    )
    for attempt in unsent.order_by("pk"):
        try:
            attempt_send(attempt=attempt, actor=actor)
        except Exception:
            logger.exception("billing attempt %s: sending failed", attempt.pk)
    return made_here


def _expire_links(organization, *, now, actor) -> int:
    from payments.services import payment_expire

    expired = 0
    links = Attempt.objects.filter(
        organization=organization,
        status=Attempt.Status.PENDING,
        method=Attempt.Method.PAYMENT_LINK,
        link_expires_at__lte=now,
        payment__status=Payment.Status.PENDING,
    ).select_related("payment")
    for attempt in links:
        try:
            payment_expire(payment=attempt.payment, actor=actor, reason="payment link expired")
            expired += 1
        except Exception:  # paid or declined meanwhile: the hook decided
            logger.info("link of attempt %s not expired (changed meanwhile)", attempt.pk)
    return expired


def _grace(organization, *, now, actor) -> tuple[int, int]:
    today = now.astimezone(organization.tz).date()
    suspended = changed = 0
    overdue = set(
        BillingPeriod.objects.filter(
            organization=organization,
            subscription__status__in=Subscription.LIVE,
            status__in=BillingPeriod.UNPAID,
            block_date__lte=today,
        ).values_list("subscription_id", flat=True)
    )
    overdue = sorted(overdue)
    for first in range(0, len(overdue), SUSPEND_BATCH):
        suspended += subscriptions_suspend(
            organization=organization,
            subscription_ids=overdue[first : first + SUSPEND_BATCH],
            actor=actor,
            now=now,
            comment=GRACE_OVER,
        )
    grace = billing_settings_get(organization=organization).grace_days
    lapsed = Subscription.objects.filter(organization=organization, entitlement_active=True).filter(
        Q(entitlement_until__lt=today - dt.timedelta(days=grace))
        | ~Q(status__in=Subscription.LIVE)
        | Q(entitlement_until__isnull=True)
    )
    for subscription_id in lapsed.values_list("pk", flat=True):
        with transaction.atomic():
            subscription = subscription_lock(subscription_id)
            changed += int(entitlement_refresh(subscription, actor=actor, now=now))
    return suspended, changed
