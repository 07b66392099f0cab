"""Subscriptions: create, pause, resume, cancel (now or at the period's end)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction

from billing import events
from billing.errors import BillingError
from billing.locks import subscription_lock
from billing.models import BillingPeriod, Customer, Plan, Subscription
from core.audit import save_audited
from core.clock import clock_now
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
