"""Plan changes: an upgrade now bills the prorated difference at once, as its own period and
attempt; a downgrade (or any change asked for ``period_end``) takes effect with the next period.

Proration: (new amount - old amount) x remaining days / days of the current period, today
included, rounded once per currency (``core.money.round_money``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction

from billing import events
from billing.errors import BillingError
from billing.locks import subscription_lock
from billing.models import BillingPeriod, Plan, Subscription
from billing.services.subscriptions import ensure_not_cancelled
from core.audit import save_audited
from core.clock import clock_now
from core.money import round_money
from payments.errors import PaymentError


def proration_amount(
    *, old: Decimal, new: Decimal, start: dt.date, end: dt.date, today: dt.date, currency: str
) -> Decimal:
    total = (end - start).days + 1
    remaining = (end - today).days + 1
    return round_money((new - old) * Decimal(remaining) / Decimal(total), currency)


def subscription_change_plan(
    *, subscription: Subscription, plan: Plan, effective: str, actor
) -> tuple[Subscription, BillingPeriod | None]:
    """Change the plan; returns the subscription and the proration period (billed at once)."""
    from billing.services.attempts import attempt_make

    subscription, proration = _change(
        subscription=subscription, plan=plan, effective=effective, actor=actor
    )
    if proration is not None:
        attempt_make(period=proration, actor=actor)
        proration.refresh_from_db()
    return subscription, proration


@transaction.atomic
def _change(*, subscription, plan, effective, actor):
    subscription = subscription_lock(subscription)
    ensure_not_cancelled(subscription)
    if plan.organization_id != subscription.organization_id:
        raise BillingError.PLAN_NOT_FOUND.error()
    old = subscription.plan
    if plan.pk == old.pk:
        raise BillingError.SAME_PLAN.error()
    if plan.currency != old.currency:
        raise PaymentError.CURRENCY_MISMATCH.error(
            f"The subscription is billed in {old.currency}; the plan is in {plan.currency}.",
            fields={"plan": [f"Must be billed in {old.currency}."]},
        )
    organization = subscription.organization
    now = clock_now(organization)
    if effective == "period_end":
        subscription.pending_plan = plan
        save_audited(subscription, actor=actor, reason=f"plan {plan.code} from the next period")
        events.subscription_changed(
            subscription,
            kind="subscription.plan_changed",
            actor=actor,
            now=now,
            data={"from": old.code, "to": plan.code, "effective": "period_end"},
        )
        return subscription, None
    if plan.amount <= old.amount:
        raise BillingError.DOWNGRADE_NOT_NOW.error()
    if (plan.interval, plan.interval_count) != (old.interval, old.interval_count):
        raise BillingError.INTERVAL_MISMATCH.error()
    today = now.astimezone(organization.tz).date()
    current = (
        subscription.periods.filter(
            kind=BillingPeriod.Kind.REGULAR, start__lte=today, end__gte=today
        )
        .order_by("-start")
        .first()
    )
    subscription.plan = plan
    subscription.pending_plan = None
    save_audited(subscription, actor=actor, reason=f"upgrade {old.code} -> {plan.code} now")
    proration = None
    amount = Decimal("0")
    if current is not None and subscription.status != Subscription.Status.TRIALING:
        amount = proration_amount(
            old=current.expected_amount,
            new=plan.amount,
            start=current.start,
            end=current.end,
            today=today,
            currency=plan.currency,
        )
    if amount > 0:
        proration = _proration_period(
            subscription,
            current=current,
            plan=plan,
            amount=amount,
            today=today,
            now=now,
            actor=actor,
        )
    events.subscription_changed(
        subscription,
        kind="subscription.plan_changed",
        actor=actor,
        now=now,
        data={
            "from": old.code,
            "to": plan.code,
            "effective": "now",
            "proration": str(amount),
            "proration_period": proration.pk if proration else None,
        },
    )
    return subscription, proration


def _proration_period(subscription, *, current, plan, amount, today, now, actor):
    from django.db.models import Max

    number = (subscription.periods.aggregate(top=Max("number"))["top"] or 0) + 1
    period = BillingPeriod(
        organization=subscription.organization,
        subscription=subscription,
        number=number,
        kind=BillingPeriod.Kind.PRORATION,
        plan=plan,
        start=today,
        end=current.end,
        due_date=today,
        due_at=now,
        expected_amount=amount,
        currency=plan.currency,
        block_date=current.block_date,
    )
    save_audited(period, actor=actor, reason=f"proration of the upgrade to {plan.code}")
    events.period_changed(
        period,
        subscription=subscription,
        actor=actor,
        now=now,
        amount=amount,
        comment=f"proration {amount} {plan.currency} of {current.start}..{current.end}",
    )
    return period
