"""Refunds: reserve the amount, call the gateway, record its answer (and correct a late success)."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from core.accounting import accounting_period_guard
from core.audit import save_audited
from core.clock import clock_today
from core.errors import CoreError, DomainError, RequestError
from core.fsm import transition_apply
from core.money import round_money
from payments.errors import PaymentError
from payments.events import (
    money_text,
    refund_event_record,
)
from payments.locks import payment_lock, refund_lock
from payments.models import Payment, PaymentEvent, Refund
from payments.providers.base import ProviderError, RefundResult
from payments.services import gateways
from payments.services.cases import refund_case_raise
from payments.services.gateways import (
    adapter_class_capabilities,
    gateway_amount_check,
    in_outer_transaction,
)

logger = logging.getLogger("payops.payments")


def refund_reserve(
    *, payment: Payment, amount: Decimal, reason: str, actor, idempotency_key: str | None = None
) -> tuple[Refund, bool]:
    """Reserve the amount under the payment's row lock: (refund, created).

    Runs in its own committed transaction (``durable``): the pending row must survive whatever
    happens after the gateway call. The accounting period of today is checked again there,
    under its share lock (the close cannot slip in between; the check before it only spares
    the work). With an ``idempotency_key`` already used on this payment
    the existing refund is returned (``created`` False) and nothing else is done.
    """
    with transaction.atomic(durable=True):
        # The accounting period first (lock order): a close waits for this reservation, or
        # this waits for the close and is refused (``core.locks``).
        accounting_period_guard(
            organization=payment.organization,
            date=clock_today(payment.organization),
            what="A refund",
        )
        payment = payment_lock(payment)
        if idempotency_key:
            existing = Refund.objects.filter(
                payment=payment, idempotency_key=idempotency_key
            ).first()
            if existing is not None:
                if existing.amount != amount:
                    raise RequestError.IDEMPOTENCY_KEY_REUSED.error(
                        "This idempotency key was used for another refund of this payment."
                    )
                return existing, False
        if payment.status not in (Payment.Status.VERIFIED, Payment.Status.PARTIALLY_REFUNDED):
            raise PaymentError.PAYMENT_NOT_REFUNDABLE.error(
                f"A {payment.status} payment cannot be refunded."
            )
        adapter_caps = adapter_class_capabilities(payment.provider)
        if adapter_caps is not None and not adapter_caps.refunds:
            raise PaymentError.PAYMENT_NOT_REFUNDABLE.error(
                f"{payment.get_provider_display()} has no refund API; refund outside payops."
            )
        if (
            adapter_caps is not None
            and not adapter_caps.partial_refunds
            and amount != payment.amount
        ):
            raise PaymentError.PARTIAL_REFUND_NOT_SUPPORTED.error(
                "This gateway refunds whole payments only."
            )
        from payments.selectors import payment_refundable_amount

        reserved = payment.amount - payment_refundable_amount(payment=payment)
        currency = payment.currency
        if amount + reserved > payment.amount:
            raise PaymentError.REFUND_EXCEEDS_PAYMENT.error(
                f"Refunds would total {money_text(amount + reserved, currency)} {currency}, more "
                f"than the payment's {money_text(payment.amount, currency)} (already refunded or "
                f"pending: {money_text(reserved, currency)}).",
                fields={
                    "amount": [
                        f"At most {money_text(payment.amount - reserved, currency)} can still be "
                        "refunded."
                    ]
                },
            )
        refund = Refund(
            payment=payment,
            organization_id=payment.organization_id,
            amount=amount,
            currency=payment.currency,
            reason=reason,
            actor=actor,
            idempotency_key=idempotency_key or None,
        )
        save_audited(refund, actor=actor, reason="refund requested")
        refund_event_record(
            payment,
            refund,
            kind=PaymentEvent.Kind.REFUND_REQUESTED,
            actor=actor,
            from_status=payment.status,
            comment=reason,
        )
        return refund, True


def payment_refund(
    *,
    payment: Payment,
    amount: Decimal,
    reason: str,
    actor,
    adapter=None,
    idempotency_key: str | None = None,
) -> Refund:
    """Refund part or all of a payment; the refunds never add up to more than the payment.

    1. Under the payment's row lock, in a transaction of its own that commits at once, the
       amount is reserved: a pending refund row is written only if pending + succeeded refunds
       + this one stay within the payment (concurrent requests queue on the lock, so two can
       never both pass). With an ``idempotency_key`` already used for this payment, that
       refund is returned and the gateway is not called again.
    2. The gateway is asked, outside any transaction and lock. Calling this service inside an
       open transaction is refused (``refund_in_transaction``): a rollback would lose the
       pending row while the gateway kept the money moved.
    3. Its answer is recorded in a second transaction: succeeded -> the payment becomes
       partially refunded or refunded; failed -> the reservation is released. If the outcome is
       unknown (gateway unreachable mid-call, or a crash while recording) the refund stays
       pending (reserved): ``refund_resolve`` (the janitor, or an operator) looks it up later.
    """
    _refund_request_check(payment=payment, amount=amount, reason=reason)
    refund, created = refund_reserve(
        payment=payment,
        amount=amount,
        reason=reason.strip(),
        actor=actor,
        idempotency_key=idempotency_key,
    )
    if not created:
        return refund
    try:
        result = _refund_call(refund=refund, adapter=adapter)
    except ProviderError as exc:
        if exc.code == "transport_indeterminate":
            logger.error("refund %s outcome unknown: %s", refund.pk, exc)
            Refund.objects.filter(pk=refund.pk).update(failure_message=str(exc)[:500])
            refund.refresh_from_db()
            return refund
        return refund_complete(
            refund=refund, succeeded=False, actor=actor, code=exc.code, message=str(exc)
        )
    except DomainError as exc:
        return refund_complete(
            refund=refund, succeeded=False, actor=actor, code=exc.code, message=exc.message
        )
    return _refund_record(refund=refund, result=result, actor=actor)


def _refund_request_check(*, payment: Payment, amount: Decimal, reason: str) -> None:
    """Refuse a refund request before anything is written (step 0 of ``payment_refund``)."""
    if not isinstance(amount, Decimal):
        raise TypeError("Money amounts are Decimal, never float.")
    if not reason or not reason.strip():
        raise CoreError.REASON_REQUIRED.error(
            "A refund needs a reason.", fields={"reason": ["This field is required."]}
        )
    if amount <= 0 or amount != round_money(amount, payment.currency):
        raise PaymentError.INVALID_AMOUNT.error(
            "The refund amount must be positive, in the currency's units.",
            fields={"amount": ["Must be a positive amount."]},
        )
    gateway_amount_check(amount, payment.currency)
    accounting_period_guard(
        organization=payment.organization,
        date=clock_today(payment.organization),
        what="A refund",
    )
    if in_outer_transaction():
        raise PaymentError.REFUND_IN_TRANSACTION.error(
            "payment_refund calls the gateway and must not run inside a transaction."
        )


def _refund_call(*, refund: Refund, adapter=None) -> RefundResult:
    """Ask the gateway (outside any transaction and lock); stamp ``call_ended_at`` once it
    answered (a result or an error), not after a timeout after sending: the gateway may still
    be working on it, so the refund counts as in flight until REFUND_STUCK_AFTER (see
    ``refund_in_flight``)."""
    payment = refund.payment
    ended = True
    try:
        adapter = adapter or gateways.adapter_for_payment(payment)
        return adapter.refund(
            provider_reference=payment.provider_reference or "",
            amount=refund.amount,
            currency=payment.currency,
            refund_id=refund_gateway_id(refund),
        )
    except ProviderError as exc:
        ended = exc.code != "transport_indeterminate"
        raise
    finally:
        if ended:
            # The gateway answered: from now on a lookup may settle the refund.
            refund.call_ended_at = timezone.now()
            Refund.objects.filter(pk=refund.pk).update(call_ended_at=refund.call_ended_at)


def _refund_record(*, refund: Refund, result: RefundResult, actor) -> Refund:
    """Record the gateway's answer; if recording fails the refund stays pending (reserved) and
    keeps the gateway's answer for ``refund_resolve`` and the operator."""
    try:
        return refund_complete(
            refund=refund,
            succeeded=result.succeeded,
            actor=actor,
            provider_reference=result.provider_reference,
            code=result.code,
            message=result.message,
        )
    except Exception:
        logger.exception("refund %s: recording the gateway's answer failed", refund.pk)
        Refund.objects.filter(pk=refund.pk, status=Refund.Status.PENDING).update(
            provider_reference=result.provider_reference[:128],
            failure_message=(
                f"Recording failed after the gateway answered "
                f"{'success' if result.succeeded else 'failure'} ({result.code})."
            )[:500],
        )
        raise


def refund_gateway_id(refund: Refund) -> str:
    """Our reference of a refund, handed to the gateway wherever its protocol takes one."""
    return f"{refund.payment.order_number}-R{refund.pk}"


@transaction.atomic
def refund_complete(
    *,
    refund: Refund,
    succeeded: bool,
    actor,
    provider_reference: str = "",
    code: str = "",
    message: str = "",
    method: str = "",
) -> Refund:
    """Record the gateway's answer to a refund; a success moves the payment forward."""
    refund = refund_lock(refund)
    payment = payment_lock(refund.payment_id)
    if refund.status != Refund.Status.PENDING:
        if refund.status == Refund.Status.FAILED and succeeded:
            return _refund_correct_to_succeeded(
                refund=refund,
                payment=payment,
                actor=actor,
                provider_reference=provider_reference,
                method=method,
            )
        if refund.status == Refund.Status.SUCCEEDED and not succeeded:
            refund_conflict(
                refund=refund,
                actor=actor,
                reason=(
                    f"the gateway reported a failure ({code or 'no code'}: {message[:200]}) "
                    "for a refund recorded succeeded"
                ),
            )
        return refund  # the same answer again: nothing to do
    refund.provider_reference = provider_reference[:128]
    refund.completed_at = timezone.now()
    if not succeeded:
        transition_apply(refund, "mark_failed", what="refund")
        refund.failure_code = code[:64]
        refund.failure_message = message[:500]
        save_audited(refund, actor=actor, reason="refund failed")
        refund_event_record(
            payment,
            refund,
            kind=PaymentEvent.Kind.REFUND_FAILED,
            actor=actor,
            from_status=payment.status,
            method=method,
            data={"code": code, "message": message[:500]},
        )
        return refund
    transition_apply(refund, "mark_succeeded", what="refund")
    save_audited(refund, actor=actor, reason="refund succeeded")
    _apply_refund_success(
        payment=payment,
        refund=refund,
        actor=actor,
        kind=PaymentEvent.Kind.REFUND_SUCCEEDED,
        method=method,
    )
    return refund


def _apply_refund_success(
    *, payment: Payment, refund: Refund, actor, kind: str, method: str, data=None
) -> None:
    source = payment.status
    payment.refunded_amount = payment.refunded_amount + refund.amount
    if payment.refunded_amount >= payment.amount:
        transition_apply(payment, "mark_refunded", what="payment")
    else:
        transition_apply(payment, "mark_partially_refunded", what="payment")
    save_audited(payment, actor=actor, reason=f"refund {refund.pk} succeeded")
    refund_event_record(
        payment,
        refund,
        kind=kind,
        actor=actor,
        from_status=source,
        method=method,
        comment=refund.reason,
        data=data,
    )


def _refund_correct_to_succeeded(
    *, refund: Refund, payment: Payment, actor, provider_reference: str, method: str
) -> Refund:
    """The gateway reports a success for a refund payops recorded failed (a lookup settled it
    while the call was still in flight, or the gateway answered late): the money left, so the
    refund moves failed -> succeeded through the audited ``correct_to_succeeded`` transition
    (a ``refund_corrected`` event) and the payment counts it, hooks and webhook as for any
    refund. When the payment can no longer take it (its room was refunded again meanwhile)
    nothing is changed and a ``refund_stuck`` case is listed: an operator must decide."""
    from payments.selectors import payment_refundable_amount

    room = payment_refundable_amount(payment=payment)  # pending refunds keep their reservation
    if payment.status not in (Payment.Status.VERIFIED, Payment.Status.PARTIALLY_REFUNDED) or (
        refund.amount > room
    ):
        refund_conflict(
            refund=refund,
            actor=actor,
            reason=(
                "the gateway reported a success for a refund recorded failed, and the payment "
                f"can no longer take it ({money_text(room, refund.currency)} left): the customer "
                "may have been refunded twice"
            ),
        )
        return refund
    failure = {"failure_code": refund.failure_code, "failure_message": refund.failure_message}
    transition_apply(refund, "correct_to_succeeded", what="refund")
    if provider_reference:
        refund.provider_reference = provider_reference[:128]
    refund.completed_at = timezone.now()
    refund.failure_code = ""
    refund.failure_message = ""
    save_audited(refund, actor=actor, reason="refund corrected: the gateway reports it succeeded")
    logger.error(
        "refund %s was recorded failed but the gateway reports it succeeded: corrected",
        refund.pk,
    )
    _apply_refund_success(
        payment=payment,
        refund=refund,
        actor=actor,
        kind=PaymentEvent.Kind.REFUND_CORRECTED,
        method=method,
        data={"corrected_from": Refund.Status.FAILED, **failure},
    )
    return refund


def refund_conflict(*, refund: Refund, actor, reason: str) -> None:
    """A gateway answer contradicts a settled refund and cannot be applied: log and list it."""
    logger.error("refund %s (%s): %s", refund.pk, refund.status, reason)
    refund_case_raise(
        refund=refund,
        actor=actor,
        dedup_key=f"refund_conflict:refund:{refund.pk}",
        situation=f"is {refund.status} in payops: {reason}.",
        reason=reason,
    )
