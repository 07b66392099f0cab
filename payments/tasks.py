"""The payments janitor: pending payments are looked up again on a backoff, then expire.

Beat runs ``janitor`` every minute. It claims the due payments (``next_check_at`` <= now) by
pushing their ``next_check_at`` a few minutes ahead (so the next beat does not queue them again
while they wait in the broker) and queues one ``payment_check`` per payment. The wait between
lookups lives in the database column, never in a broker countdown (see payments.janitor).
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.actors import system_actor
from core.errors import DomainError
from core.queueing import enqueue
from payments import services
from payments.janitor import BATCH_SIZE, REFUND_RECHECK, REFUND_STUCK_AFTER
from payments.models import Payment, Refund
from payments.services import payment_check_status

CLAIM_FOR = timedelta(minutes=5)


def due_payment_ids(*, now=None, limit: int = BATCH_SIZE) -> list[int]:
    """Claim up to ``limit`` due pending payments and return their ids."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            Payment.objects.select_for_update(skip_locked=True, no_key=True)
            .filter(
                # Expired ones due for their one final lookup (services.payment_final_check).
                status__in=[Payment.Status.PENDING, Payment.Status.EXPIRED],
                next_check_at__lte=now,
            )
            .order_by("next_check_at")
            .values_list("pk", flat=True)[:limit]
        )
        # Janitor bookkeeping columns are kept out of the history on purpose.
        Payment.objects.filter(pk__in=ids).update(next_check_at=now + CLAIM_FOR)
    return ids


@shared_task
def janitor() -> int:
    ids = due_payment_ids()
    # One connection for the batch; a broker failure leaves the claimed rows due again after
    # CLAIM_FOR (core.queueing never raises).
    enqueue(payment_check, ([payment_id] for payment_id in ids))
    return len(ids)


@shared_task(
    autoretry_for=(ConnectionError,), retry_backoff=30, retry_backoff_max=600, max_retries=3
)
def payment_check(payment_id: int) -> str:
    payment = Payment.objects.filter(pk=payment_id).first()
    if payment is not None and payment.status == Payment.Status.EXPIRED:
        payment = services.payment_final_check(
            payment=payment, actor=system_actor("payments-janitor")
        )
        return "late_payment" if payment.events.filter(kind="late_payment").exists() else "done"
    if payment is None or payment.status != Payment.Status.PENDING:
        return "done"
    payment = payment_check_status(payment=payment, actor=system_actor("payments-janitor"))
    return payment.status


def stuck_refund_ids(*, now=None, limit: int = BATCH_SIZE) -> list[int]:
    """Pending refunds older than REFUND_STUCK_AFTER, not looked up in the last REFUND_RECHECK."""
    now = now or timezone.now()
    return list(
        Refund.objects.filter(
            status=Refund.Status.PENDING, created_at__lte=now - REFUND_STUCK_AFTER
        )
        .filter(Q(last_checked_at__isnull=True) | Q(last_checked_at__lte=now - REFUND_RECHECK))
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )


@shared_task
def refund_janitor() -> int:
    ids = stuck_refund_ids()
    enqueue(refund_check, ([refund_id] for refund_id in ids))
    return len(ids)


@shared_task
def refund_check(refund_id: int) -> str:
    """Settle one stuck refund at the gateway, or list it for operators (one case per refund)."""
    refund = Refund.objects.select_related("payment").filter(pk=refund_id).first()
    if refund is None or refund.status != Refund.Status.PENDING:
        return "done"
    actor = system_actor("payments-refund-janitor")
    try:
        refund = services.refund_resolve(refund=refund, actor=actor)
    except DomainError as exc:
        services.refund_flag_stuck(refund=refund, actor=actor, reason=exc.message)
        return "stuck"
    if refund.status != Refund.Status.PENDING:
        services.refund_unflag(refund=refund, actor=actor)
    return refund.status
