"""What a payment's outcome means for its billing period (``payments.hooks`` listener).

Runs inside the transaction that changed the payment (the payment is locked first; billing then
locks subscription and period, the order of ``billing.locks``). Only a verified payment makes a
period paid and grants entitlement; a decline or an expiry is a failed attempt; a refund is
counted on the period. A difference (paid less, paid twice, refunded after entitlement) is
listed as ``billing_amount_mismatch``.
"""

from __future__ import annotations

from billing import events
from billing.exception_kinds import (
    BILLING_AMOUNT_MISMATCH,
    BILLING_LATE_LINK_PAYMENT,
    RETRY_LIMIT_REACHED,
)
from billing.locks import subscription_and_period_lock
from billing.models import Attempt, BillingPeriod, Subscription
from billing.services.entitlement import entitlement_grant
from billing.services.retries import attempt_failed, failure_reason
from core.audit import save_audited
from core.clock import clock_now
from core.fsm import transition_apply
from payments.models import Payment


def on_payment_change(change) -> None:
    payment = change.payment
    if payment.purpose != Payment.Purpose.SUBSCRIPTION:
        return
    attempt = Attempt.objects.filter(payment_id=payment.pk).first()
    if attempt is None:
        return
    subscription, period = subscription_and_period_lock(attempt.period_id)
    attempt = Attempt.objects.select_for_update().get(pk=attempt.pk)
    now = clock_now(subscription.organization)
    actor = change.actor
    if change.kind == "verified":
        period_paid(
            attempt, period=period, subscription=subscription, payment=payment, actor=actor, now=now
        )
    elif change.kind in ("declined", "expired"):
        if attempt.status != Attempt.Status.PENDING:
            return  # a superseded link expiring, or a repeat: nothing to decide
        reason = failure_reason(kind=change.kind, action_code=payment.action_code)
        attempt_failed(
            attempt,
            period=period,
            subscription=subscription,
            reason=reason,
            action_code=payment.action_code,
            actor=actor,
            now=now,
        )
    elif change.kind == "refunded" and change.refund is not None:
        period_refunded(
            period, subscription=subscription, refund=change.refund, actor=actor, now=now
        )


def period_paid(
    attempt: Attempt, *, period: BillingPeriod, subscription: Subscription, payment, actor, now
) -> None:
    """A verified payment for the period: paid, entitlement, recovery. Callers hold locks."""
    from exceptionqueue.services import exception_clear

    was = attempt.status
    attempt.status = Attempt.Status.PAID
    attempt.finished_at = now
    save_audited(attempt, actor=actor, reason=f"paid (was {was})")
    period.verified_amount += payment.amount
    if period.status in (BillingPeriod.Status.PAID, BillingPeriod.Status.WAIVED):
        save_audited(period, actor=actor, reason=f"paid again by {payment.order_number}")
        events.noted(
            subscription,
            kind="period_paid_twice",
            actor=actor,
            now=now,
            period=period,
            amount=payment.amount,
            currency=payment.currency,
        )
        _mismatch(period, subscription=subscription, actor=actor, problem="paid twice")
        return
    if was == Attempt.Status.SUPERSEDED:
        _late_link(period, subscription=subscription, attempt=attempt, actor=actor)
    for other in period.attempts.filter(status=Attempt.Status.PENDING).exclude(pk=attempt.pk):
        other.status = Attempt.Status.SUPERSEDED
        other.finished_at = now
        save_audited(other, actor=actor, reason=f"period paid by attempt {attempt.number}")
    if period.verified_amount < period.expected_amount:
        save_audited(period, actor=actor, reason="paid less than expected")
        _mismatch(period, subscription=subscription, actor=actor, problem="paid less")
        return
    transition_apply(period, "mark_paid", what="billing period")
    period.verified_at = now  # by the organisation clock (the payment keeps the gateway time)
    period.next_retry_at = None
    save_audited(period, actor=actor, reason=f"paid by attempt {attempt.number}")
    events.period_changed(
        period,
        subscription=subscription,
        actor=actor,
        now=now,
        amount=payment.amount,
        data={"attempt": attempt.pk, "payment": payment.pk, "order_number": payment.order_number},
    )
    if period.verified_amount > period.expected_amount:
        _mismatch(period, subscription=subscription, actor=actor, problem="paid more")
    exception_clear(
        organization=subscription.organization,
        dedup_key=f"{RETRY_LIMIT_REACHED}:period:{period.pk}",
        actor=actor,
        note=f"period paid by {payment.order_number}",
    )
    _keep_binding(subscription, payment=payment, actor=actor)
    if period.kind == BillingPeriod.Kind.REGULAR:
        entitlement_grant(
            subscription,
            until=period.end,
            source=Subscription.EntitlementSource.PAYMENT,
            actor=actor,
            now=now,
            comment=f"period {period.number} paid ({payment.order_number})",
        )
    _recover(subscription, actor=actor, now=now)


def _recover(subscription: Subscription, *, actor, now) -> None:
    from billing.services.subscriptions import subscription_move

    if subscription.status not in (
        Subscription.Status.TRIALING,
        Subscription.Status.PAST_DUE,
        Subscription.Status.SUSPENDED,
    ):
        return
    if subscription.periods.filter(status__in=BillingPeriod.UNPAID).exists():
        return
    if (
        subscription.status == Subscription.Status.TRIALING
        and subscription.entitlement_source == Subscription.EntitlementSource.TRIAL
    ):
        return
    subscription_move(subscription, "mark_recovered", actor=actor, now=now, comment="paid")


def _keep_binding(subscription: Subscription, *, payment, actor) -> None:
    customer = subscription.customer
    if (
        subscription.collection != Subscription.Collection.SAVED_CARD
        or not payment.binding_id
        or customer.binding_id == payment.binding_id
    ):
        return
    customer.binding_id = payment.binding_id
    customer.binding_provider = payment.provider
    save_audited(customer, actor=actor, reason=f"card saved at {payment.provider} (binding)")


def period_refunded(period: BillingPeriod, *, subscription: Subscription, refund, actor, now):
    """A refund of one of the period's payments: counted, audited, and listed when the period
    had already granted entitlement (a person decides whether to shorten it)."""
    period.refunded_amount += refund.amount
    save_audited(period, actor=actor, reason=f"refund {refund.amount} {refund.currency}")
    events.period_changed(
        period,
        subscription=subscription,
        actor=actor,
        now=now,
        kind="refunded",
        amount=refund.amount,
        comment=refund.reason,
        data={"refund": refund.pk},
    )
    if period.status == BillingPeriod.Status.PAID and period.kind == BillingPeriod.Kind.REGULAR:
        _mismatch(
            period, subscription=subscription, actor=actor, problem="refunded after entitlement"
        )


def _mismatch(period: BillingPeriod, *, subscription: Subscription, actor, problem: str) -> None:
    from exceptionqueue.services import exception_raise

    exception_raise(
        organization=subscription.organization,
        kind=BILLING_AMOUNT_MISMATCH,
        dedup_key=f"{BILLING_AMOUNT_MISMATCH}:period:{period.pk}:{problem.replace(' ', '_')}",
        message=f"Subscription {subscription.pk}, period {period.number}: {problem} "
        f"(expected {period.expected_amount}, verified {period.verified_amount}, refunded "
        f"{period.refunded_amount} {period.currency}).",
        actor=actor,
        subject=period,
        branch=subscription.branch,
        amount=period.verified_amount - period.refunded_amount - period.expected_amount,
        currency=period.currency,
        details={
            "problem": problem,
            "expected": str(period.expected_amount),
            "verified": str(period.verified_amount),
            "refunded": str(period.refunded_amount),
            "period_start": period.start.isoformat(),
            "period_end": period.end.isoformat(),
        },
    )


def _late_link(period: BillingPeriod, *, subscription: Subscription, attempt: Attempt, actor):
    from exceptionqueue.services import exception_raise

    exception_raise(
        organization=subscription.organization,
        kind=BILLING_LATE_LINK_PAYMENT,
        dedup_key=f"{BILLING_LATE_LINK_PAYMENT}:attempt:{attempt.pk}",
        message=f"Period {period.number} of subscription {subscription.pk} was paid on the "
        f"superseded link of attempt {attempt.number} ({attempt.order_number}); the newer "
        "link is closed in payops: check that the customer did not pay twice.",
        actor=actor,
        subject=period,
        branch=subscription.branch,
        amount=attempt.payment.amount,
        currency=period.currency,
        details={"attempt": attempt.pk, "order_number": attempt.order_number},
    )
