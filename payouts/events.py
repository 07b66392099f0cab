"""One writer per ``PayoutEvent`` kind, and the payout webhooks they announce.

Every change of a payout writes its append-only event row here (actor, time, method, reference,
comment, details); transition kinds also write their ``payout.<kind>`` webhook to the outbox in
the same transaction (``webhooks.services.event_emit``).
"""

from __future__ import annotations

from payouts.models import Payout, PayoutEvent, PayoutPeriod
from webhooks.services import event_emit, event_emit_many

EventKind = PayoutEvent.Kind


def payout_data(payout: Payout) -> dict:
    """Thin webhook payload: ids, statuses, amounts as strings; never names."""
    return {
        "id": payout.pk,
        "status": payout.status,
        "recipient": payout.recipient_id,
        "branch": payout.branch.code,
        "currency": payout.currency,
        "period_start": payout.period_start.isoformat(),
        "period_end": payout.period_end.isoformat(),
        "gross": str(payout.gross),
        "fee": str(payout.fee),
        "net": str(payout.net),
        "payment_count": payout.payment_count,
        "method": payout.method,
        "reference": payout.reference,
    }


def _row(
    payout: Payout,
    *,
    kind: str,
    actor,
    from_status="",
    comment="",
    method="",
    reference="",
    details=None,
) -> PayoutEvent:
    return PayoutEvent(
        payout=payout,
        kind=kind,
        from_status=from_status,
        to_status=payout.status,
        method=method,
        reference=reference,
        gross=payout.gross,
        fee=payout.fee,
        net=payout.net,
        actor=actor,
        comment=comment,
        details=details or {},
    )


def _write(payout: Payout, **fields) -> PayoutEvent:
    event = _row(payout, **fields)
    event.save()
    if event.kind in PayoutEvent.TRANSITION_KINDS:
        event_emit(organization=payout.organization, **_emit_args(payout, event))
    return event


def _emit_args(payout: Payout, event: PayoutEvent) -> dict:
    return {
        "event_type": f"payout.{event.kind}",
        "subject": "payout",
        "subject_id": payout.pk,
        "data": payout_data(payout),
        "dedup": event.pk,
    }


def requested(payout: Payout, *, actor, comment: str, payments: list, adjustments: list):
    """``requested``: a payout request (its payments and applied adjustments), announced."""
    return _write(
        payout,
        kind=EventKind.REQUESTED,
        actor=actor,
        comment=comment,
        details={"payments": payments, "adjustments": adjustments},
    )


def requested_many(
    payouts: list[Payout], *, period: PayoutPeriod, actor, what: str, follow_up: bool, fitted
) -> list[PayoutEvent]:
    """``requested`` for every payout of a period build, and their webhooks, set-based (one
    ``bulk_create`` and one outbox write whatever the count). ``fitted``: scope -> adjustments."""
    events = PayoutEvent.objects.bulk_create(
        [
            _row(
                p,
                kind=EventKind.REQUESTED,
                actor=actor,
                comment=f"{what} for period {period}",
                details={
                    "accounting_period": period.pk,
                    "payment_count": p.payment_count,
                    "adjustments": [a.pk for a in fitted[(p.recipient_id, p.currency)]],
                    "follow_up": follow_up,
                },
            )
            for p in payouts
        ]
    )
    for payout in payouts:
        payout.organization = period.organization
    event_emit_many(
        organization=period.organization,
        events=[_emit_args(payout, event) for payout, event in zip(payouts, events, strict=True)],
    )
    return events


def transitioned(payout: Payout, *, to: str, actor, from_status: str, **fields) -> PayoutEvent:
    """``processing`` / ``completed`` / ``cancelled`` / ``reversed``: a transition, announced.
    ``fields``: the event's ``comment``, ``method``, ``reference`` and ``details``."""
    return _write(payout, kind=to, actor=actor, from_status=from_status, **fields)


def recalculated(payout: Payout, *, actor, payment_id, refund_id, deducted, released):
    """``recalculated``: a refund deducted from a requested payout."""
    return _write(
        payout,
        kind=EventKind.RECALCULATED,
        actor=actor,
        details={
            "payment": payment_id,
            "refund": refund_id,
            "deducted": str(deducted),
            "adjustments_released": released,
        },
    )


def drift_held(payout: Payout, *, actor, payment_id, refund_id, drift) -> PayoutEvent:
    """``drift_hold``: a refund hit a processing payout; its completion waits for a decision."""
    return _write(
        payout,
        kind=EventKind.DRIFT_HOLD,
        actor=actor,
        details={"payment": payment_id, "refund": refund_id, "drift": str(drift)},
    )


def drift_decided(payout: Payout, *, actor, comment, decision, drifts, released) -> PayoutEvent:
    """``drift_decided``: the operator's decision on a held payout."""
    return _write(
        payout,
        kind=EventKind.DRIFT_DECIDED,
        actor=actor,
        comment=comment,
        details={
            "decision": decision,
            "payments": {str(k): str(v[1]) for k, v in drifts.items()},
            "adjustments_released": released,
        },
    )


def adjustment_carried(payout: Payout, adjustment, *, actor, comment, refund_id) -> PayoutEvent:
    """``adjustment_carried``: a refund carried from ``payout`` to a later payout."""
    return _write(
        payout,
        kind=EventKind.ADJUSTMENT_CARRIED,
        actor=actor,
        comment=comment,
        details={
            "payment": adjustment.payment_id,
            "refund": refund_id,
            "adjustment": adjustment.pk,
            "amount": str(adjustment.amount),
        },
    )


def adjustments_voided(payout: Payout, voids: list, *, actor, comment: str) -> PayoutEvent:
    """``adjustments_voided``: refunds carried from a cancelled or reversed payout, voided."""
    return _write(
        payout,
        kind=EventKind.ADJUSTMENTS_VOIDED,
        actor=actor,
        comment=comment,
        details={
            "adjustments": [v.adjustment_id for v in voids],
            "amounts": [str(v.adjustment.amount) for v in voids],
            "why": "the payout's payments were released net of these refunds",
        },
    )
