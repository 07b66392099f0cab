"""Pending refunds whose outcome is unknown: settle by lookup, or list them for operators."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from core.errors import DomainError
from payments.errors import PaymentError
from payments.events import (
    money_text,
)
from payments.locks import payment_lock, refund_lock
from payments.models import Refund
from payments.providers.base import ProviderError
from payments.selectors import refund_in_flight, refund_pending_amounts
from payments.services import gateways
from payments.services.cases import refund_case_raise
from payments.services.gateways import in_outer_transaction
from payments.services.refunds import refund_complete

logger = logging.getLogger("payops.payments")


class RefundUnresolved(DomainError):
    """The gateway's answer does not settle a pending refund: an operator must decide."""

    def __init__(self, error: PaymentError, message: str) -> None:
        super().__init__(error.code, message, status_code=error.status)


def refund_resolve(*, refund: Refund, actor, adapter=None) -> Refund:
    """Settle a pending refund whose outcome is unknown by looking the order up at the gateway.

    Only a refund whose gateway call has ended (``call_ended_at``) or that is older than
    ``REFUND_STUCK_AFTER`` is looked up (``refund_in_flight``): while the call runs the lookup
    does not show it yet, and it is returned pending unchanged.

    Before the lookup, under the payment's lock, payops' succeeded total and the set of pending
    refunds are read (the snapshot). The gateway reports the order's total refunded amount
    (BPC ``paymentAmountInfo.refundedAmount``); beyond the snapshot's succeeded total
    (``delta``):

    - ``delta == 0``: no money moved for any pending refund: this one failed;
    - ``delta`` equals the sum of the snapshot's pending refunds: they all went through: this
      one succeeded (the others resolve the same way on their turn);
    - otherwise the answer is ambiguous (``RefundUnresolved``, 409): an operator decides.

    No lock is held during the lookup. The outcome is recorded under the locks after checking
    that nothing changed since the snapshot (a refund settled, requested or recorded
    meanwhile): if anything did, the answer is stale and the refund stays pending for the next
    run. A success reported later for a refund recorded failed is corrected by
    ``refund_complete``.
    """
    refund = Refund.objects.select_related("payment__organization", "payment__branch").get(
        pk=refund.pk
    )
    if refund.status != Refund.Status.PENDING:
        return refund
    if in_outer_transaction():
        raise PaymentError.REFUND_IN_TRANSACTION.error(
            "refund_resolve calls the gateway and must not run inside a transaction."
        )
    if refund_in_flight(refund):
        logger.info("refund %s: gateway call still in flight, not resolved", refund.pk)
        return refund
    payment = refund.payment
    Refund.objects.filter(pk=refund.pk).update(last_checked_at=timezone.now())
    adapter = adapter or gateways.adapter_for_payment(payment)
    if not adapter.capabilities.status_lookup:
        raise RefundUnresolved(
            PaymentError.REFUND_UNRESOLVABLE,
            f"{payment.get_provider_display()} has no status lookup: resolve by hand.",
        )
    snapshot = _refund_snapshot(payment)
    refunded_at_gateway, reference = _refund_lookup(adapter, payment)
    settled = _refund_settle(
        refund=refund,
        snapshot=snapshot,
        refunded_at_gateway=refunded_at_gateway,
        reference=reference,
        actor=actor,
    )
    if settled is not None:
        return settled
    snapshot_refunded, snapshot_pending = snapshot
    pending = sum(snapshot_pending.values(), Decimal("0"))
    raise RefundUnresolved(
        PaymentError.REFUND_OUTCOME_AMBIGUOUS,
        f"The gateway reports {money_text(refunded_at_gateway, refund.currency)} refunded; "
        f"payops has {money_text(snapshot_refunded, refund.currency)} succeeded and "
        f"{money_text(pending, refund.currency)} pending: an operator must decide.",
    )


def _refund_snapshot(payment) -> tuple[Decimal, dict[int, Decimal]]:
    """(succeeded total, pending refunds) read under the payment's lock, before the lookup."""
    with transaction.atomic():
        refunded = payment_lock(payment).refunded_amount
        return refunded, refund_pending_amounts(payment_id=payment.pk)


def _refund_lookup(adapter, payment) -> tuple[Decimal, str]:
    """The gateway's refunded total of the order and its reference (no lock held)."""
    try:
        status = gateways.gateway_status(adapter, payment)
    except ProviderError as exc:
        raise RefundUnresolved(
            PaymentError.REFUND_LOOKUP_FAILED, f"The gateway lookup failed: {exc}"
        ) from exc
    if status.refunded_amount is None:
        raise RefundUnresolved(
            PaymentError.REFUND_UNRESOLVABLE, "The gateway's answer carries no refunded amount."
        )
    return status.refunded_amount, status.provider_reference


@transaction.atomic
def _refund_settle(
    *, refund: Refund, snapshot, refunded_at_gateway: Decimal, reference: str, actor
) -> Refund | None:
    """Record the lookup's outcome under the locks; None when the answer is ambiguous.

    Returned pending unchanged when anything changed since the snapshot (the answer is stale)."""
    snapshot_refunded, snapshot_pending = snapshot
    pending = sum(snapshot_pending.values(), Decimal("0"))
    delta = refunded_at_gateway - snapshot_refunded
    # Lock order as in refund_complete: the refund, then the payment.
    locked = refund_lock(refund)
    current = payment_lock(refund.payment_id)
    if locked.status != Refund.Status.PENDING:
        return locked
    if (
        current.refunded_amount != snapshot_refunded
        or refund_pending_amounts(payment_id=current.pk) != snapshot_pending
    ):
        logger.info("refund %s: refunds changed during the lookup; next run", refund.pk)
        return locked
    if delta == 0:
        return refund_complete(
            refund=locked,
            succeeded=False,
            actor=actor,
            code="not_at_gateway",
            message="The gateway reports no refund beyond those already recorded.",
            method="lookup",
        )
    if delta == pending or (delta == refund.amount and pending == refund.amount):
        return refund_complete(
            refund=locked,
            succeeded=True,
            actor=actor,
            provider_reference=locked.provider_reference or reference,
            method="lookup",
        )
    return None


def refund_flag_stuck(*, refund: Refund, actor, reason: str):
    """List a refund whose outcome could not be settled for operators (one case per refund)."""
    return refund_case_raise(
        refund=refund,
        actor=actor,
        dedup_key=f"refund_stuck:refund:{refund.pk}",
        situation=f"is pending with an unknown outcome: {reason}",
        reason=reason,
    )


def refund_unflag(*, refund: Refund, actor) -> None:
    from exceptionqueue.services import exception_clear

    exception_clear(
        organization=refund.payment.organization,
        dedup_key=f"refund_stuck:refund:{refund.pk}",
        actor=actor,
        note=f"refund {refund.status} after a gateway lookup",
    )
