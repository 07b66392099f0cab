"""Billing periods: the schedule (what is owed when), apart from any payment's status."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Max

from billing import events
from billing.locks import subscription_lock
from billing.models import BillingPeriod, Subscription
from billing.services.calendar import local_midnight, span
from billing.services.settings import billing_settings_get
from core.audit import save_audited
from core.clock import clock_now


def _apply_pending_plan(subscription: Subscription, *, actor, now) -> None:
    """A downgrade takes effect when the next period starts."""
    if not subscription.pending_plan_id:
        return
    old = subscription.plan
    subscription.plan = subscription.pending_plan
    subscription.pending_plan = None
    save_audited(
        subscription,
        actor=actor,
        reason=f"plan changed {old.code} -> {subscription.plan.code} (period end)",
    )
    events.subscription_changed(
        subscription,
        kind="subscription.plan_changed",
        actor=actor,
        now=now,
        comment="downgrade at period end",
        data={"from": old.code, "to": subscription.plan.code, "effective": "period_end"},
    )


def period_create_next(subscription: Subscription, *, actor, now) -> BillingPeriod:
    """Add the subscription's next regular period (the caller holds the subscription lock)."""
    last = subscription.periods.filter(kind=BillingPeriod.Kind.REGULAR).order_by("-start").first()
    if last is None:
        start = subscription.billing_anchor
    else:
        # After a pause the anchor may lie past the last period (subscription_resume).
        start = max(last.end + dt.timedelta(days=1), subscription.billing_anchor)
        _apply_pending_plan(subscription, actor=actor, now=now)
    plan = subscription.plan
    when = span(start, plan=plan, anchor_day=subscription.billing_anchor.day)
    number = (subscription.periods.aggregate(top=Max("number"))["top"] or 0) + 1
    grace = billing_settings_get(organization=subscription.organization).grace_days
    organization = subscription.organization
    period = BillingPeriod(
        organization=organization,
        subscription=subscription,
        number=number,
        plan=plan,
        start=when.start,
        end=when.end,
        due_date=when.start,
        due_at=local_midnight(when.start, organization.tz),
        shifted_from_day=when.shifted_from_day,
        expected_amount=plan.amount,
        currency=plan.currency,
        block_date=when.start + dt.timedelta(days=grace),
    )
    shift = (
        f"; payment day shifted from the {when.shifted_from_day}th to {when.start.isoformat()} "
        "(month end)"
        if when.shifted_from_day
        else ""
    )
    save_audited(period, actor=actor, reason=f"period {number} scheduled{shift}")
    events.period_changed(
        period,
        subscription=subscription,
        actor=actor,
        now=now,
        comment=shift.lstrip("; "),
        data={"shifted_from_day": when.shifted_from_day} if when.shifted_from_day else None,
    )
    return period


@transaction.atomic
def periods_extend(*, subscription: Subscription, actor, now=None) -> int:
    """Add every regular period that has started by ``now`` (organisation's date); cancel a
    subscription marked to end with its period instead. Returns the periods added."""
    from billing.services.subscriptions import subscription_move

    subscription = subscription_lock(subscription)
    organization = subscription.organization
    now = now or clock_now(organization)
    today = now.astimezone(organization.tz).date()
    added = 0
    while subscription.status in Subscription.LIVE:
        last = (
            subscription.periods.filter(kind=BillingPeriod.Kind.REGULAR).order_by("-start").first()
        )
        if last is not None and last.end >= today:
            break
        if subscription.cancel_at_period_end:
            subscription.cancelled_at = now
            subscription_move(
                subscription, "cancel", actor=actor, now=now, comment="cancelled at period end"
            )
            break
        period_create_next(subscription, actor=actor, now=now)
        added += 1
    return added
