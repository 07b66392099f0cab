"""Subscriptions: create, pause, resume, cancel (now or at the period's end)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction

from billing import events
from billing.errors import BillingError
from billing.locks import subscription_lock
from billing.models import BillingPeriod, Customer, Plan, Subscription
from billing.services.calendar import next_start
from core.audit import save_audited
from core.clock import clock_now
from core.dates import FIRST_DAY, LAST_DAY
from core.fsm import transition_apply
from payments.errors import PaymentError
from payments.models import Payment


def ensure_not_cancelled(subscription: Subscription) -> None:
    if subscription.status == Subscription.Status.CANCELLED:
        raise BillingError.SUBSCRIPTION_CANCELLED.error(
            f"Subscription {subscription.pk} is cancelled; it cannot be changed."
        )


def default_provider() -> str:
    return Payment.Provider.SANDBOX if settings.PAYOPS_SANDBOX else Payment.Provider.ARCA


def check_collection(*, provider: str, collection: str) -> None:
    """Never promise an auto-charge the provider cannot do."""
    from payments.services import adapter_class_capabilities

    if provider not in Payment.Provider.values:
        raise PaymentError.UNKNOWN_PROVIDER.error(
            "Unknown payment provider.", fields={"provider": ["Unknown provider."]}
        )
    if collection != Subscription.Collection.SAVED_CARD:
        return
    capabilities = adapter_class_capabilities(provider)
    if capabilities is None or not capabilities.tokenized_recurring:
        raise BillingError.TOKENS_NOT_SUPPORTED.error(
            f"{provider} cannot charge a saved card: use collection payment_link.",
            fields={"collection": ["The provider has no tokenized recurring payments."]},
        )


def subscription_move(
    subscription: Subscription, method: str, *, actor, now, comment: str = ""
) -> Subscription:
    """Apply a transition to a locked subscription, audit it, announce it, refresh entitlement."""
    from billing.services.entitlement import entitlement_refresh

    transition_apply(subscription, method, what="subscription")
    save_audited(subscription, actor=actor, reason=comment or f"subscription {subscription.status}")
    events.subscription_changed(
        subscription, kind=subscription.status, actor=actor, now=now, comment=comment
    )
    entitlement_refresh(subscription, actor=actor, now=now, comment=comment)
    return subscription


def start_date_window(*, plan: Plan, today: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last ``start_date`` a new subscription to ``plan`` may have on ``today``
    (the organisation's date, by its test clock in the sandbox).

    Back: at most one interval of the plan (``interval`` x ``interval_count``) before today, on
    the schedule's calendar (1 month before 31 March is 28 February): a new subscription has at
    most its backdated period and today's already due. Each missing period is made one by one
    by the due work (``periods_extend``) and then billed, so a start in 1970 on a daily plan
    meant 20,000 periods in one transaction and decades billed to the customer. Stripe bounds
    its ``backdate_start_date`` by the invoice's 250 line items (one a backdated period); here
    billing more than one past period is the desk's decision, not an API call's side effect.
    Ahead: the first period (after any trial) ends by ``core.dates.LAST_DAY``.
    """
    count = plan.interval_count
    try:
        earliest = max(
            next_start(today, interval=plan.interval, count=-count, anchor_day=today.day),
            FIRST_DAY,
        )
    except (OverflowError, ValueError):  # before Python's dates
        earliest = FIRST_DAY
    after_last = LAST_DAY + dt.timedelta(days=1)
    try:
        # The anchor whose first period ends on LAST_DAY, less the trial before it.
        anchor = next_start(after_last, interval=plan.interval, count=-count, anchor_day=1)
        latest = anchor - dt.timedelta(days=plan.trial_days)
    except (OverflowError, ValueError):  # an interval longer than the accepted dates
        latest = FIRST_DAY - dt.timedelta(days=1)
    return earliest, latest


def start_date_check(*, plan: Plan, start_date: dt.date, today: dt.date) -> None:
    """Raise 400 ``start_date_out_of_range`` naming the accepted dates (``start_date_window``)."""
    earliest, latest = start_date_window(plan=plan, today=today)
    if earliest <= start_date <= latest:
        return
    if latest < earliest:
        field = f"No start date fits: the plan's first period would end after {LAST_DAY}."
    else:
        field = f"Must be from {earliest} (one billing interval before today, {today}) to {latest}."
    raise BillingError.START_DATE_OUT_OF_RANGE.error(
        f"{BillingError.START_DATE_OUT_OF_RANGE.sentence} {field}",
        fields={"start_date": [field]},
    )


@transaction.atomic
def subscription_create(
    *,
    organization,
    customer: Customer,
    plan: Plan,
    branch,
    start_date: dt.date,
    collection: str,
    actor,
    provider: str | None = None,
    currency: str | None = None,
) -> Subscription:
    from billing.services.entitlement import entitlement_grant
    from billing.services.periods import period_create_next

    if customer.organization_id != organization.pk:
        raise BillingError.CUSTOMER_NOT_FOUND.error()
    if plan.organization_id != organization.pk:
        raise BillingError.PLAN_NOT_FOUND.error()
    if branch.organization_id != organization.pk:
        raise PaymentError.BRANCH_NOT_FOUND.error("No such branch in this organisation.")
    if not plan.is_active:
        raise BillingError.PLAN_INACTIVE.error()
    if currency and currency != plan.currency:
        raise PaymentError.CURRENCY_MISMATCH.error(
            f"The plan is billed in {plan.currency}, not {currency}.",
            fields={"currency": [f"Must be {plan.currency}."]},
        )
    provider = provider or default_provider()
    check_collection(provider=provider, collection=collection)
    now = clock_now(organization)
    today = now.astimezone(organization.tz).date()
    start_date_check(plan=plan, start_date=start_date, today=today)
    trial = plan.trial_days > 0
    subscription = Subscription(
        organization=organization,
        customer=customer,
        plan=plan,
        branch=branch,
        provider=provider,
        collection=collection,
        status=Subscription.Status.TRIALING if trial else Subscription.Status.ACTIVE,
        start_date=start_date,
        billing_anchor=start_date + dt.timedelta(days=plan.trial_days),
    )
    save_audited(subscription, actor=actor, reason="subscription created")
    events.subscription_changed(subscription, kind="subscription.created", actor=actor, now=now)
    if trial:
        entitlement_grant(
            subscription,
            until=subscription.billing_anchor - dt.timedelta(days=1),
            source=Subscription.EntitlementSource.TRIAL,
            actor=actor,
            now=now,
            comment=f"trial of {plan.trial_days} days",
        )
    period_create_next(subscription, actor=actor, now=now)
    return subscription


@transaction.atomic
def subscription_pause(*, subscription: Subscription, actor, comment: str = "") -> Subscription:
    subscription = subscription_lock(subscription)
    ensure_not_cancelled(subscription)
    now = clock_now(subscription.organization)
    subscription.paused_at = now
    return subscription_move(
        subscription, "pause", actor=actor, now=now, comment=comment or "paused"
    )


@transaction.atomic
def subscription_resume(*, subscription: Subscription, actor, comment: str = "") -> Subscription:
    """Active again. When the schedule's next period would have started during the pause, the
    schedule restarts today: the billing day becomes today's, and the periods the pause covered
    are never made (nothing is owed for them); a pause within a period changes no date."""
    subscription = subscription_lock(subscription)
    ensure_not_cancelled(subscription)
    now = clock_now(subscription.organization)
    today = now.astimezone(subscription.organization.tz).date()
    subscription.paused_at = None
    reason = comment or "resumed"
    last = subscription.periods.filter(kind=BillingPeriod.Kind.REGULAR).order_by("-start").first()
    next_start = last.end + dt.timedelta(days=1) if last else subscription.billing_anchor
    if next_start < today:
        subscription.billing_anchor = today
        reason = f"{reason}; schedule restarts {today.isoformat()} (was {next_start.isoformat()})"
    return subscription_move(subscription, "resume", actor=actor, now=now, comment=reason)


@transaction.atomic
def subscription_cancel(
    *, subscription: Subscription, at: str, actor, comment: str = ""
) -> Subscription:
    """``at="now"``: cancelled at once, its scheduled periods waived; ``"period_end"``: it
    runs to the end of the current period and is cancelled when the next would start."""
    subscription = subscription_lock(subscription)
    ensure_not_cancelled(subscription)
    now = clock_now(subscription.organization)
    if at == "period_end":
        subscription.cancel_at_period_end = True
        save_audited(subscription, actor=actor, reason=comment or "cancel at period end")
        events.subscription_changed(
            subscription,
            kind="subscription.cancel_scheduled",
            actor=actor,
            now=now,
            comment=comment,
        )
        return subscription
    subscription.cancelled_at = now
    subscription_move(subscription, "cancel", actor=actor, now=now, comment=comment or "cancelled")
    _waive_scheduled(subscription, actor=actor, now=now)
    return subscription


def _waive_scheduled(subscription: Subscription, *, actor, now) -> None:
    from billing.locks import period_lock

    for period_id in subscription.periods.filter(status=BillingPeriod.Status.SCHEDULED).values_list(
        "pk", flat=True
    ):
        period = period_lock(period_id)
        transition_apply(period, "mark_waived", what="billing period")
        save_audited(period, actor=actor, reason="subscription cancelled")
        events.period_changed(
            period,
            subscription=subscription,
            actor=actor,
            now=now,
            comment="subscription cancelled",
        )
