"""Lookups of a pending payment at the gateway (janitor, operators); the final check after
expiry."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from core.errors import DomainError
from payments.janitor import EXPIRY_GRACE, UNKNOWN_GIVE_UP, backoff_delay
from payments.locks import payment_lock
from payments.models import Payment
from payments.providers.base import ProviderError, ProviderState
from payments.services import gateways
from payments.services.status import (
    AmountMismatch,
    finish_unpaid,
    payment_apply_status,
    raise_amount_mismatch,
)

logger = logging.getLogger("payops.payments")


def _schedule_next_check(payment: Payment, *, now, error: str = "") -> None:
    Payment.objects.filter(pk=payment.pk).update(
        check_attempts=payment.check_attempts + 1,
        last_checked_at=now,
        next_check_at=now + backoff_delay(payment.check_attempts + 1),
        last_check_error=error[:255],
    )
    payment.check_attempts += 1
    payment.last_checked_at = now
    payment.next_check_at = now + backoff_delay(payment.check_attempts)
    payment.last_check_error = error[:255]


@transaction.atomic
def _expire_if_still_pending(
    *, payment: Payment, actor, reason: str, final_check: bool = False
) -> Payment:
    """The janitor's expiry: decided on an unlocked read, so re-checked under the lock (a
    callback may have verified the payment meanwhile; then nothing happens).

    ``final_check`` (the gateway has a lookup): one more lookup is scheduled
    ``FINAL_CHECK_AFTER`` later (``payment_final_check``) to find a late payment."""
    from payments.janitor import FINAL_CHECK_AFTER

    payment = payment_lock(payment)
    if payment.status != Payment.Status.PENDING:
        return payment
    payment = finish_unpaid(
        payment, "mark_expired", status=None, actor=actor, method="janitor", comment=reason
    )
    if final_check:
        payment.next_check_at = timezone.now() + FINAL_CHECK_AFTER
        # Janitor bookkeeping: kept out of the history on purpose.
        Payment.objects.filter(pk=payment.pk).update(next_check_at=payment.next_check_at)
    return payment


def payment_final_check(*, payment: Payment, actor, adapter=None) -> Payment:
    """The last lookup of a payment the janitor expired (see ``FINAL_CHECK_AFTER``).

    Done once (``next_check_at`` is cleared first, whatever the answer): a "paid" (or refunded)
    answer is a late payment (``late_payment`` event and exception case, via
    ``payment_apply_status``); anything else, or a failed lookup, changes nothing.
    """
    payment = Payment.objects.select_related("organization", "branch").get(pk=payment.pk)
    if payment.status != Payment.Status.EXPIRED or payment.next_check_at is None:
        return payment
    Payment.objects.filter(pk=payment.pk).update(next_check_at=None, last_checked_at=timezone.now())
    payment.next_check_at = None
    try:
        adapter = adapter or gateways.adapter_for_payment(payment)
        if not adapter.capabilities.status_lookup:
            return payment
        status = gateways.gateway_status(adapter, payment)
    except (ProviderError, DomainError) as exc:
        logger.warning("final lookup of expired payment %s failed: %s", payment.pk, exc)
        Payment.objects.filter(pk=payment.pk).update(last_check_error=str(exc)[:255])
        return payment
    try:
        return payment_apply_status(
            payment=payment, status=status, method=Payment.VerificationMethod.LOOKUP, actor=actor
        )
    except AmountMismatch as exc:
        raise_amount_mismatch(exc, actor=actor)
        return payment


def payment_check_status(*, payment: Payment, actor, adapter=None, method: str = "") -> Payment:
    """Look the payment up at the gateway now and apply the answer (janitor and operators).

    Without a lookup, or while the gateway cannot answer, the next check is scheduled on the
    backoff; a payment past its window (plus grace) that is not paid is expired. A payment the
    gateway cannot confirm is never expired while the gateway is unreachable, until
    ``UNKNOWN_GIVE_UP`` after its window.
    """
    payment = Payment.objects.select_related("organization", "branch").get(pk=payment.pk)
    if payment.status != Payment.Status.PENDING:
        return payment
    method = method or Payment.VerificationMethod.LOOKUP
    now = timezone.now()
    overdue = payment.expires_at is not None and now >= payment.expires_at + EXPIRY_GRACE
    try:
        adapter = adapter or gateways.adapter_for_payment(payment)
        if not adapter.capabilities.status_lookup:
            raise NotImplementedError
        status = gateways.gateway_status(adapter, payment)
    except NotImplementedError:
        if overdue:
            return _expire_if_still_pending(
                payment=payment, actor=actor, reason="window passed, no lookup"
            )
        _schedule_next_check(payment, now=now)
        return payment
    except ProviderError as exc:
        if exc.code == "unknown_order" and overdue:
            return _expire_if_still_pending(payment=payment, actor=actor, reason="never registered")
        if payment.expires_at is not None and now >= payment.expires_at + UNKNOWN_GIVE_UP:
            return _expire_if_still_pending(
                payment=payment,
                actor=actor,
                reason=f"gateway unreachable: {exc}",
                final_check=True,
            )
        _schedule_next_check(payment, now=now, error=str(exc))
        return payment
    except DomainError as exc:  # no account configured
        _schedule_next_check(payment, now=now, error=exc.message)
        return payment
    try:
        payment = payment_apply_status(payment=payment, status=status, method=method, actor=actor)
    except AmountMismatch as exc:
        raise_amount_mismatch(exc, actor=actor)
        _schedule_next_check(payment, now=now, error=exc.message)
        return payment
    if payment.status == Payment.Status.PENDING:
        if overdue and status.state is not ProviderState.AUTHORIZED:
            return _expire_if_still_pending(
                payment=payment, actor=actor, reason="window passed, unpaid", final_check=True
            )
        _schedule_next_check(payment, now=now)
    return payment
