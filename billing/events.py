"""One writer per billing event: the append-only ``BillingEvent`` row and, for every change of a
subscription, a period or an entitlement, its outgoing webhook (outbox row, same transaction).
"""

from __future__ import annotations

from decimal import Decimal

from billing.models import BillingEvent, BillingPeriod, Subscription

SUBSCRIPTION_EVENT_TYPES = (
    *(f"subscription.{status}" for status in Subscription.Status.values),
    "subscription.created",
    "subscription.plan_changed",
    "subscription.cancel_scheduled",
)
PERIOD_EVENT_TYPES = (
    *(f"billing_period.{status}" for status in BillingPeriod.Status.values),
    "billing_period.refunded",
)
ENTITLEMENT_EVENT_TYPES = ("entitlement.changed",)
EVENT_TYPES = (*SUBSCRIPTION_EVENT_TYPES, *PERIOD_EVENT_TYPES, *ENTITLEMENT_EVENT_TYPES)


def entitlement_data(subscription: Subscription) -> dict:
    until = subscription.entitlement_until
    return {
        "active": subscription.entitlement_active,
        "until": until.isoformat() if until else None,
        "source": subscription.entitlement_source or None,
    }


def subscription_data(subscription: Subscription) -> dict:
    return {
        "id": subscription.pk,
        "status": subscription.status,
        "customer": subscription.customer_id,
        "plan": subscription.plan.code,
        "pending_plan": subscription.pending_plan.code if subscription.pending_plan_id else None,
        "collection": subscription.collection,
        "cancel_at_period_end": subscription.cancel_at_period_end,
        "entitlement": entitlement_data(subscription),
    }


def period_data(period: BillingPeriod) -> dict:
    return {
        "id": period.pk,
        "subscription": period.subscription_id,
        "number": period.number,
        "kind": period.kind,
        "status": period.status,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "due_date": period.due_date.isoformat(),
        "expected_amount": str(period.expected_amount),
        "verified_amount": str(period.verified_amount),
        "refunded_amount": str(period.refunded_amount),
        "currency": period.currency,
        "next_retry_at": period.next_retry_at.isoformat() if period.next_retry_at else None,
        "block_date": period.block_date.isoformat() if period.block_date else None,
        "failure_reason": period.last_failure_code or None,
    }


def _record(
    *,
    subscription: Subscription,
    kind: str,
    actor,
    now,
    period: BillingPeriod | None = None,
    comment: str = "",
    amount: Decimal | None = None,
    currency: str | None = None,
    data: dict | None = None,
) -> BillingEvent:
    return BillingEvent.objects.create(
        organization_id=subscription.organization_id,
        subscription=subscription,
        period=period,
        kind=kind,
        actor=actor,
        occurred_at=now,
        comment=comment,
        amount=amount,
        currency=currency,
        data=data or {},
    )


def _emit(subscription: Subscription, event_type: str, subject: str, subject_id, data, row):
    from webhooks.services import event_emit

    event_emit(
        organization=subscription.organization,
        event_type=event_type,
        subject=subject,
        subject_id=subject_id,
        data=data,
        dedup=f"billing_event:{row.pk}",
    )


def subscription_changed(
    subscription: Subscription, *, kind: str, actor, now, comment: str = "", data=None
) -> BillingEvent:
    """An audited subscription event (created, a status, plan_changed ...) and its webhook."""
    row = _record(
        subscription=subscription, kind=kind, actor=actor, now=now, comment=comment, data=data
    )
    event_type = kind if "." in kind else f"subscription.{kind}"
    if event_type in SUBSCRIPTION_EVENT_TYPES:
        _emit(
            subscription,
            event_type,
            "subscription",
            subscription.pk,
            subscription_data(subscription),
            row,
        )
    return row


def period_changed(
    period: BillingPeriod,
    *,
    subscription: Subscription,
    actor,
    now,
    kind: str | None = None,
    comment: str = "",
    amount: Decimal | None = None,
    data=None,
) -> BillingEvent:
    """A period moved (kind = its new status unless given) and its webhook."""
    kind = kind or period.status
    row = _record(
        subscription=subscription,
        period=period,
        kind=f"period_{kind}",
        actor=actor,
        now=now,
        comment=comment,
        amount=amount,
        currency=period.currency if amount is not None else None,
        data=data,
    )
    event_type = f"billing_period.{kind}"
    if event_type in PERIOD_EVENT_TYPES:
        _emit(subscription, event_type, "billing_period", period.pk, period_data(period), row)
    return row


def period_changed_many(changes: list[tuple], *, actor, now) -> list[BillingEvent]:
    """``period_changed`` for many periods of one organisation at once (the due attempts): one
    INSERT of the event rows and one outbox write for their webhooks. ``changes`` are
    ``(period, subscription, data)``; the kind is each period's status now."""
    if not changes:
        return []
    from webhooks.services import event_emit_many

    rows = BillingEvent.objects.bulk_create(
        [
            BillingEvent(
                organization_id=subscription.organization_id,
                subscription=subscription,
                period=period,
                kind=f"period_{period.status}",
                actor=actor,
                occurred_at=now,
                comment="",
                data=data or {},
            )
            for period, subscription, data in changes
        ]
    )
    emits = [
        {
            "event_type": f"billing_period.{period.status}",
            "subject": "billing_period",
            "subject_id": period.pk,
            "data": period_data(period),
            "dedup": f"billing_event:{row.pk}",
        }
        for (period, _, _), row in zip(changes, rows, strict=True)
        if f"billing_period.{period.status}" in PERIOD_EVENT_TYPES
    ]
    if emits:
        event_emit_many(organization=changes[0][1].organization, events=emits)
    return rows


def entitlement_changed(subscription: Subscription, *, actor, now, comment: str = "", data=None):
    row = _record(
        subscription=subscription,
        kind="entitlement_changed",
        actor=actor,
        now=now,
        comment=comment,
        data={**entitlement_data(subscription), **(data or {})},
    )
    _emit(
        subscription,
        "entitlement.changed",
        "subscription",
        subscription.pk,
        {"subscription": subscription.pk, **entitlement_data(subscription)},
        row,
    )
    return row


def noted(
    subscription: Subscription,
    *,
    kind: str,
    actor,
    now,
    period: BillingPeriod | None = None,
    comment: str = "",
    amount: Decimal | None = None,
    currency: str | None = None,
    data=None,
) -> BillingEvent:
    """An audited event without a webhook of its own (attempt made, reminder queued, ...)."""
    return _record(
        subscription=subscription,
        kind=kind,
        actor=actor,
        now=now,
        period=period,
        comment=comment,
        amount=amount,
        currency=currency,
        data=data,
    )
