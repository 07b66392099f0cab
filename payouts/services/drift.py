"""Refund drift: a payment refunded after a payout included it (``on_payment_change``, the
payments hook), the operator's decision on a held payout, and refunds carried to a later payout.
Also the late verification of a payment into a closed, built period."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from core.audit import save_audited
from core.errors import CoreError
from core.queueing import enqueue_on_commit
from payouts import events, locks, selectors
from payouts.errors import PayoutError
from payouts.models import Payout, PayoutAdjustment, PayoutLine, PayoutPeriod, QrPayment
from payouts.services.amounts import payout_recompute
from payouts.services.cases import (
    case_clear,
    drift_case_raise,
    drift_key,
    late_payment_case_raise,
)

Status = Payout.Status
Line = PayoutLine.Kind
DRIFT_DECISIONS = ("recalculate", "carry")
BUILD_TASK = "payouts.tasks.payout_period_build_task"


def on_payment_change(change) -> None:
    """payments.hooks listener, inside the transaction that changed the payment."""
    if change.kind == "verified":
        _late_verification(change)
        return
    if change.kind != "refunded":
        return
    line = (
        PayoutLine.objects.filter(payment=change.payment, kind=Line.PAYMENT, active=True)
        .only("payout_id")
        .first()
    )
    if line is None:
        return
    payout = locks.payout_lock(line.payout_id)
    drift = selectors.payout_drift_by_payment(payout).get(change.payment.pk)
    if drift is None:
        return
    payment, amount = drift
    actor = change.actor
    refund_id = change.refund.pk if change.refund is not None else None
    if payout.status == Status.REQUESTED:
        PayoutLine.objects.create(payout=payout, kind=Line.REFUND, payment=payment, amount=-amount)
        released = payout_recompute(payout)
        save_audited(payout, actor=actor, reason="recalculated after a refund")
        events.recalculated(
            payout,
            actor=actor,
            payment_id=payment.pk,
            refund_id=refund_id,
            deducted=amount,
            released=released,
        )
        drift_case_raise(payout, payment, amount, actor, "recalculated")
    elif payout.status == Status.PROCESSING:
        if not payout.drift_hold:
            payout.drift_hold = True
            save_audited(payout, actor=actor, reason="refund drift: completion held")
        events.drift_held(
            payout, actor=actor, payment_id=payment.pk, refund_id=refund_id, drift=amount
        )
        drift_case_raise(payout, payment, amount, actor, "held")
    elif payout.status == Status.COMPLETED:
        _carry(
            payout, payment, amount, actor, refund_id=refund_id, comment="refund after completion"
        )


def _late_verification(change) -> None:
    """A QR payment verified into a closed period that was already built: list it at once and
    queue the period's follow-up build (the beat sweeper builds it too if the broker is down)."""
    payment = change.payment
    # Only a QR payment has a QrPayment row (``qr_payment_create`` makes both, the payment's
    # purpose "qr"): another purpose is answered from the loaded row, without a query.
    if payment.purpose != payment.Purpose.QR or payment.verified_at is None:
        return
    if not QrPayment.objects.filter(payment=payment).exists():
        return
    organization = payment.organization
    day = timezone.localtime(payment.verified_at, organization.tz).date()
    period = PayoutPeriod.objects.filter(
        organization=organization,
        status=PayoutPeriod.Status.CLOSED,
        built_at__isnull=False,
        start_date__lte=day,
        end_date__gte=day,
    ).first()
    if period is None:
        return
    late_payment_case_raise(
        period,
        message=(
            f"Payment {payment.pk} ({payment.amount} {payment.currency}) was verified on {day}, "
            f"in the closed period {period}, after its payouts were built: a follow-up payout "
            "is built for it."
        ),
        actor=change.actor,
        branch=payment.branch,
        amount=payment.amount,
        currency=payment.currency,
        details={"payment": payment.pk},
    )
    enqueue_on_commit(BUILD_TASK, period.pk)


def _carry(payout, payment, amount, actor, *, refund_id=None, comment=""):
    """Carry ``amount`` of ``payment``'s refund from ``payout`` to the recipient's next payout."""
    adjustment = PayoutAdjustment.objects.create(
        organization_id=payout.organization_id,
        recipient_id=payout.recipient_id,
        currency=payout.currency,
        amount=-amount,
        source_payout=payout,
        payment=payment,
        refund_id=refund_id,
        actor=actor,
        comment=comment,
    )
    events.adjustment_carried(payout, adjustment, actor=actor, comment=comment, refund_id=refund_id)
    return adjustment


@transaction.atomic
def payout_drift_decide(
    *, payout: Payout, decision: str, actor, comment: str = "", check_permission: bool = False
) -> Payout:
    """An operator's decision on a held processing payout: ``recalculate`` (deduct the refunds
    from this payout) or ``carry`` (pay as is; the refunds become adjustments on the next one)."""
    if decision not in DRIFT_DECISIONS:
        raise PayoutError.INVALID_DECISION.error(
            f"Decision is one of {', '.join(DRIFT_DECISIONS)}.",
            fields={"decision": ["Unknown decision."]},
        )
    payout = locks.payout_lock(payout)
    if payout.status != Status.PROCESSING or not payout.drift_hold:
        raise PayoutError.NO_DRIFT_TO_DECIDE.error("This payout has no held refund drift.")
    if check_permission and not actor.has_perm("payouts.decide_payout_drift"):
        raise CoreError.PERMISSION_DENIED.error("You may not decide refund drift.")
    drifts = selectors.payout_drift_by_payment(payout)
    for payment, amount in drifts.values():
        if decision == "recalculate":
            PayoutLine.objects.create(
                payout=payout, kind=Line.REFUND, payment=payment, amount=-amount
            )
        else:
            _carry(payout, payment, amount, actor, comment=comment or "refund drift carried")
    released = payout_recompute(payout) if decision == "recalculate" else []
    payout.drift_hold = False
    save_audited(payout, actor=actor, reason=f"refund drift: {decision}")
    events.drift_decided(
        payout,
        actor=actor,
        comment=comment,
        decision=decision,
        drifts=drifts,
        released=released,
    )
    case_clear(
        organization=payout.organization,
        dedup_key=drift_key(payout),
        actor=actor,
        note=f"decided: {decision}",
    )
    return payout


def drift_case_close_guard(case) -> None:
    """A ``refund_drift`` case of a held processing payout is resolved by the payout's drift
    decision (``payout_drift_decide`` clears it), never closed by hand: a plain resolve would leave
    the payout held and its period closable. Registered with the exception queue in
    ``PayoutsConfig.ready``; other drift cases (a recalculated request) close with a note."""
    payout = selectors.payout_held_by_drift(
        organization_id=case.organization_id, payout_id=(case.details or {}).get("payout")
    )
    if payout is not None:
        raise PayoutError.DECIDED_BY_DRIFT_DECISION.error(
            f"Payout #{payout.pk} is held by this refund drift: decide it (recalculate or carry) "
            f"on the payout's page in the admin or with POST payouts/{payout.pk}/drift-decisions/; "
            "the decision resolves this case."
        )
