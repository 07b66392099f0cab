"""Payout transitions: requested -> processing -> completed, requested|processing -> cancelled,
and the reversal (correction) of a completed payout. Each runs under the payout's row lock."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django_fsm import can_proceed, has_transition_perm

from core.audit import save_audited
from core.errors import CoreError, DomainError
from core.fsm import transition_apply
from core.queueing import enqueue_on_commit
from payouts import events, locks, selectors
from payouts.errors import PayoutError
from payouts.models import Payout, PayoutAdjustmentVoid, PayoutReversal
from payouts.services.cases import payout_cases_clear, reference_case_raise

Status = Payout.Status
TRANSITION_TARGETS = {
    Status.PROCESSING: "start_processing",
    Status.COMPLETED: "complete",
    Status.CANCELLED: "cancel",
}
BUILD_TASK = "payouts.tasks.payout_period_build_task"


def payout_transition(
    *,
    payout: Payout,
    to: str,
    actor,
    method: str = "",
    reference: str = "",
    comment: str = "",
    check_permission: bool = False,
) -> Payout:
    """Move a payout: requested -> processing -> completed, requested|processing -> cancelled,
    completed -> reversed (``payout_reverse``: a comment and a reference are required).

    ``check_permission`` (the admin) also requires the actor's permission for the transition.
    A completion without method and reference is refused (400 ``reference_required``) and listed
    as ``completed_without_reference``.
    """
    if to == Status.REVERSED:
        return payout_reverse(
            payout=payout,
            actor=actor,
            reference=reference,
            comment=comment,
            check_permission=check_permission,
        )
    fields = {"method": method, "reference": reference, "comment": comment}
    try:
        return _payout_transition(
            payout=payout, to=to, actor=actor, check_permission=check_permission, **fields
        )
    except DomainError as exc:
        if exc.code == PayoutError.REFERENCE_REQUIRED.code:
            reference_case_raise(payout, message=exc.message, actor=actor)
        raise


@transaction.atomic
def _payout_transition(*, payout, to, actor, method, reference, comment, check_permission):
    if to not in TRANSITION_TARGETS:
        raise PayoutError.INVALID_TRANSITION.error(
            f"Unknown target state {to!r}.",
            fields={"to": [f"One of {', '.join([*TRANSITION_TARGETS, Status.REVERSED])}."]},
        )
    payout = locks.payout_lock(payout)
    refused = f"A {payout.status} payout cannot become {to}."
    _transition_check(payout, to, actor, refused=refused, check_permission=check_permission)
    voided: list[PayoutAdjustmentVoid] = []
    if to == Status.CANCELLED:
        voided = _void_carried_adjustments(payout, actor=actor, comment=comment or "cancelled")
    method, reference = (method or "").strip(), (reference or "").strip()
    if to == Status.COMPLETED and (not method or not reference):
        raise PayoutError.REFERENCE_REQUIRED.error(
            "Completing a payout needs the method and the reference.",
            fields={
                name: ["Required to complete."]
                for name, value in (("method", method), ("reference", reference))
                if not value
            },
        )
    from_status = payout.status
    transition_apply(payout, TRANSITION_TARGETS[to], what="payout", message=refused)
    payout.method = method or payout.method
    payout.reference = reference or payout.reference
    details = {}
    if to == Status.COMPLETED:
        payout.completed_at = timezone.now()
    if to == Status.CANCELLED:
        details["released_lines"] = payout.lines.filter(active=True).update(active=False)
        if payout.drift_hold:
            # Nothing is left to decide: the released payments come back net of their refunds.
            payout.drift_hold = False
            details["drift_hold_released"] = True
    save_audited(payout, actor=actor, reason=comment or f"payout {to}")
    events.transitioned(
        payout,
        to=to,
        actor=actor,
        from_status=from_status,
        comment=comment,
        method=method,
        reference=reference,
        details=details,
    )
    if voided:
        events.adjustments_voided(payout, voided, actor=actor, comment=comment)
    if to in (Status.COMPLETED, Status.CANCELLED):
        if payout.accounting_period_id:
            # Payments of a closed period that waited for this payout (verified late), or that
            # its cancel released, become a follow-up payout of the period.
            enqueue_on_commit(BUILD_TASK, payout.accounting_period_id)
        payout_cases_clear(payout, actor=actor, to=to)
    return payout


def _transition_check(payout, to, actor, *, refused: str, check_permission: bool) -> None:
    """Refuse a completion held by refund drift, a move the state machine does not allow, and
    (``check_permission``) one the actor may not make."""
    transition = getattr(payout, TRANSITION_TARGETS[to])
    if to == Status.COMPLETED and payout.status == Status.PROCESSING and payout.drift_hold:
        raise PayoutError.REFUND_DRIFT_UNRESOLVED.error(
            "A refund hit an included payment: decide the drift first."
        )
    if not can_proceed(transition):
        raise CoreError.TRANSITION_NOT_ALLOWED.error(refused)
    if check_permission and not has_transition_perm(transition, actor):
        raise CoreError.PERMISSION_DENIED.error("You may not make this transition.")


def payout_process(*, payout: Payout, actor, **fields: str) -> Payout:
    """requested -> processing; ``fields``: optional ``method``, ``reference``, ``comment``."""
    return payout_transition(payout=payout, to=Status.PROCESSING, actor=actor, **fields)


def payout_complete(*, payout: Payout, actor, method: str, reference: str, comment="") -> Payout:
    """processing -> completed, with the method and the reference of the transfer."""
    fields = {"method": method, "reference": reference, "comment": comment}
    return payout_transition(payout=payout, to=Status.COMPLETED, actor=actor, **fields)


def payout_cancel(*, payout: Payout, actor, comment="") -> Payout:
    return payout_transition(payout=payout, to=Status.CANCELLED, actor=actor, comment=comment)


@transaction.atomic
def payout_reverse(
    *, payout: Payout, actor, reference: str, comment: str, check_permission: bool = False
) -> Payout:
    """The correction of a completed payout: a ``PayoutReversal`` row; its payments and applied
    adjustments are released for a later payout. Refused once refunds were carried from it.

    The comment says why (400 ``reason_required``), the reference names the bank's return or the
    correcting transfer (400 ``reference_required``)."""
    payout = locks.payout_lock(payout)
    refused = f"A {payout.status} payout cannot be reversed."
    if not can_proceed(payout.reverse):
        raise CoreError.TRANSITION_NOT_ALLOWED.error(refused)
    if check_permission and not has_transition_perm(payout.reverse, actor):
        raise CoreError.PERMISSION_DENIED.error("You may not reverse payouts.")
    reference, comment = (reference or "").strip(), comment or ""
    if not comment.strip():
        raise CoreError.REASON_REQUIRED.error(
            "A reversal needs a comment saying why (the transfer came back, paid by mistake).",
            fields={"comment": ["Required to reverse."]},
        )
    if not reference:
        raise PayoutError.REFERENCE_REQUIRED.error(
            "A reversal needs a reference and a comment.",
            fields={"reference": ["Required to reverse."]},
        )
    voided = _void_carried_adjustments(payout, actor=actor, comment=comment)
    from_status = payout.status
    transition_apply(payout, "reverse", what="payout", message=refused)
    released = payout.lines.filter(active=True).update(active=False)
    save_audited(payout, actor=actor, reason=comment)
    PayoutReversal.objects.create(
        payout=payout, amount=payout.net, reference=reference, actor=actor, comment=comment
    )
    events.transitioned(
        payout,
        to=Status.REVERSED,
        actor=actor,
        from_status=from_status,
        comment=comment,
        reference=reference,
        details={"released_lines": released},
    )
    if voided:
        events.adjustments_voided(payout, voided, actor=actor, comment=comment)
    return payout


def _void_carried_adjustments(payout: Payout, *, actor, comment: str) -> list:
    """Before a cancel or a reversal releases ``payout``'s payments: void the refunds carried from
    it that no payout applied yet (one append-only ``PayoutAdjustmentVoid`` row each). The released
    payments come back with ``amount - refunded_amount``, already net of those refunds; deducting
    the adjustments as well would take each refund twice.

    Refused (409 ``carried_adjustment_applied``) when one of them is already deducted by a holding
    payout: cancel or reverse that payout first (its cancel puts the adjustment back to pending),
    so no refund is ever deducted twice and none is lost."""
    carried = locks.carried_adjustments_lock(payout)
    if not carried:
        return []
    ids = [a.pk for a in carried]
    applied = selectors.payouts_applying(ids)
    if applied:
        listed = ", ".join(f"#{pk}" for pk in applied)
        raise PayoutError.CARRIED_ADJUSTMENT_APPLIED.error(
            f"Refunds carried from payout #{payout.pk} are already deducted by payout {listed}: "
            "cancel or reverse that payout first."
        )
    already = set(
        PayoutAdjustmentVoid.objects.filter(adjustment_id__in=ids).values_list(
            "adjustment_id", flat=True
        )
    )
    voids = [
        PayoutAdjustmentVoid(adjustment=a, payout=payout, actor=actor, comment=comment)
        for a in carried
        if a.pk not in already
    ]
    return PayoutAdjustmentVoid.objects.bulk_create(voids)
