"""One writer per billing event: the append-only ``BillingEvent`` row and, for every change of a
subscription, a period or an entitlement, its outgoing webhook (outbox row, same transaction).
"""

from __future__ import annotations

import json
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
    return entitlement_data_of(
        active=subscription.entitlement_active,
        until=subscription.entitlement_until,
        source=subscription.entitlement_source,
    )


def entitlement_data_of(*, active: bool, until, source: str) -> dict:
    return {
        "active": active,
        "until": until.isoformat() if until else None,
        "source": source or None,
    }


def subscription_data(subscription: Subscription) -> dict:
    return subscription_data_of(
        {
            "id": subscription.pk,
            "status": subscription.status,
            "customer_id": subscription.customer_id,
            "plan__code": subscription.plan.code,
            "pending_plan__code": (
                subscription.pending_plan.code if subscription.pending_plan_id else None
            ),
            "collection": subscription.collection,
            "cancel_at_period_end": subscription.cancel_at_period_end,
            "entitlement_active": subscription.entitlement_active,
            "entitlement_until": subscription.entitlement_until,
            "entitlement_source": subscription.entitlement_source,
        }
    )


# The column values ``subscription_data_of`` reads (``QuerySet.values`` names).
SUBSCRIPTION_DATA_FIELDS = (
    "id",
    "status",
    "customer_id",
    "plan__code",
    "pending_plan__code",
    "collection",
    "cancel_at_period_end",
    "entitlement_active",
    "entitlement_until",
    "entitlement_source",
)


def subscription_data_of(values: dict) -> dict:
    """A subscription's webhook data from its column values (``SUBSCRIPTION_DATA_FIELDS``)."""
    return {
        "id": values["id"],
        "status": values["status"],
        "customer": values["customer_id"],
        "plan": values["plan__code"],
        "pending_plan": values["pending_plan__code"],
        "collection": values["collection"],
        "cancel_at_period_end": values["cancel_at_period_end"],
        "entitlement": entitlement_data_of(
            active=values["entitlement_active"],
            until=values["entitlement_until"],
            source=values["entitlement_source"],
        ),
    }


PERIOD_DATA_FIELDS = (
    "id",
    "subscription_id",
    "number",
    "kind",
    "status",
    "start",
    "end",
    "due_date",
    "expected_amount",
    "verified_amount",
    "refunded_amount",
    "currency",
    "next_retry_at",
    "block_date",
    "last_failure_code",
)


def period_data(period: BillingPeriod) -> dict:
    return period_data_of({name: getattr(period, name) for name in PERIOD_DATA_FIELDS})


def period_data_of(values: dict) -> dict:
    """A period's webhook data from its column values (``PERIOD_DATA_FIELDS``): the set-based
    writers read the values, not model objects."""
    return {
        "id": values["id"],
        "subscription": values["subscription_id"],
        "number": values["number"],
        "kind": values["kind"],
        "status": values["status"],
        "start": values["start"].isoformat(),
        "end": values["end"].isoformat(),
        "due_date": values["due_date"].isoformat(),
        "expected_amount": str(values["expected_amount"]),
        "verified_amount": str(values["verified_amount"]),
        "refunded_amount": str(values["refunded_amount"]),
        "currency": values["currency"],
        "next_retry_at": values["next_retry_at"].isoformat() if values["next_retry_at"] else None,
        "block_date": values["block_date"].isoformat() if values["block_date"] else None,
        "failure_reason": values["last_failure_code"] or None,
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


# The temporary table ``_record_bulk`` loads by COPY.
EVENT_TABLE = "billing_event_batch"


def _record_bulk(rows: list[dict], *, organization, actor, now) -> list[int]:
    """``_record`` for many events at once (PostgreSQL): ``rows`` hold ``subscription_id``,
    ``period_id`` (or None), ``kind``, ``comment`` and ``data``; loaded by COPY into a
    temporary table, written by one ``INSERT … SELECT``. Returns the new rows' ids in the order
    of ``rows``."""
    from core.bulk import Param, insert_select, qn, temp_table_copy

    temp_table_copy(
        EVENT_TABLE,
        [
            ("ord", "integer"),
            ("subscription_id", "bigint"),
            ("period_id", "bigint"),
            ("kind", "text"),
            ("comment", "text"),
            ("data", "jsonb"),
        ],
        (
            (
                n,
                row["subscription_id"],
                row.get("period_id"),
                row["kind"],
                row.get("comment", ""),
                json.dumps(row.get("data") or {}),
            )
            for n, row in enumerate(rows)
        ),
        analyze=False,
    )
    written = insert_select(
        BillingEvent,
        {
            "organization_id": Param(organization.pk),
            "subscription_id": "u.subscription_id",
            "period_id": "u.period_id",
            "kind": "u.kind",
            "actor_id": Param(getattr(actor, "pk", actor)),
            "occurred_at": Param(now),
            "comment": "u.comment",
            "data": "u.data",
        },
        source=f"FROM {qn(EVENT_TABLE)} u ORDER BY u.ord",
        returning=("id",),
    )
    # INSERT … SELECT … ORDER BY takes the ids from the sequence in that order.
    return sorted(pk for (pk,) in written)


def period_changed_bulk(changes: list[tuple], *, organization, actor, now) -> None:
    """``period_changed_many`` for the set-based writers (PostgreSQL): ``changes`` are
    ``(period values, data)`` (the values of ``PERIOD_DATA_FIELDS`` as the period is now, its
    status the new one); one ``INSERT … SELECT`` of the event rows and one outbox write for
    their webhooks, the same rows as ``period_changed``."""
    if not changes:
        return
    from webhooks.services import event_emit_bulk

    ids = _record_bulk(
        [
            {
                "subscription_id": values["subscription_id"],
                "period_id": values["id"],
                "kind": f"period_{values['status']}",
                "data": data,
            }
            for values, data in changes
        ],
        organization=organization,
        actor=actor,
        now=now,
    )
    emits = [
        {
            "event_type": f"billing_period.{values['status']}",
            "subject": "billing_period",
            "subject_id": values["id"],
            "data": period_data_of(values),
            "dedup": f"billing_event:{pk}",
        }
        for (values, _), pk in zip(changes, ids, strict=True)
        if f"billing_period.{values['status']}" in PERIOD_EVENT_TYPES
    ]
    if emits:
        event_emit_bulk(organization=organization, events=emits)


def subscription_changed_bulk(subscriptions: list[dict], *, organization, actor, now, comment):
    """``subscription_changed`` (kind: each one's status now) for many subscriptions at once
    (PostgreSQL): ``subscriptions`` hold the values of ``SUBSCRIPTION_DATA_FIELDS``."""
    from webhooks.services import event_emit_bulk

    ids = _record_bulk(
        [
            {"subscription_id": v["id"], "kind": v["status"], "comment": comment}
            for v in subscriptions
        ],
        organization=organization,
        actor=actor,
        now=now,
    )
    emits = [
        {
            "event_type": f"subscription.{values['status']}",
            "subject": "subscription",
            "subject_id": values["id"],
            "data": subscription_data_of(values),
            "dedup": f"billing_event:{pk}",
        }
        for values, pk in zip(subscriptions, ids, strict=True)
        if f"subscription.{values['status']}" in SUBSCRIPTION_EVENT_TYPES
    ]
    if emits:
        event_emit_bulk(organization=organization, events=emits)


def entitlement_changed_bulk(subscriptions: list[dict], *, organization, actor, now, comment):
    """``entitlement_changed`` for many subscriptions at once (PostgreSQL): ``subscriptions``
    hold ``id`` and the ``entitlement_*`` values as they are now."""
    from webhooks.services import event_emit_bulk

    def data(values):
        return entitlement_data_of(
            active=values["entitlement_active"],
            until=values["entitlement_until"],
            source=values["entitlement_source"],
        )

    ids = _record_bulk(
        [
            {
                "subscription_id": v["id"],
                "kind": "entitlement_changed",
                "comment": comment,
                "data": data(v),
            }
            for v in subscriptions
        ],
        organization=organization,
        actor=actor,
        now=now,
    )
    event_emit_bulk(
        organization=organization,
        events=[
            {
                "event_type": "entitlement.changed",
                "subject": "subscription",
                "subject_id": values["id"],
                "data": {"subscription": values["id"], **data(values)},
                "dedup": f"billing_event:{pk}",
            }
            for values, pk in zip(subscriptions, ids, strict=True)
        ],
    )
