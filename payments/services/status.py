"""A payment's state from the gateway's word or an operator's: verify, decline, expire."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from core.accounting import accounting_period_guard
from core.audit import save_audited
from core.clock import clock_frozen_now, clock_today
from core.errors import DomainError
from core.fsm import transition_apply
from payments.errors import PaymentError
from payments.events import (
    payment_state_record,
)
from payments.locks import payment_lock
from payments.models import Payment, PaymentEvent
from payments.providers.base import ProviderState, StatusResult
from payments.providers.cards import mask_pan
from payments.services.cases import payment_case_raise
from payments.services.late import late_payment_record

logger = logging.getLogger("payops.payments")


PAID_STATES = {ProviderState.PAID, ProviderState.PARTIALLY_REFUNDED, ProviderState.REFUNDED}


class AmountMismatch(DomainError):
    """The gateway's lookup disagrees with the payment or the callback: an operator must look."""

    def __init__(self, message: str, *, payment: Payment, details: dict) -> None:
        error = PaymentError.AMOUNT_MISMATCH
        super().__init__(error.code, message, status_code=error.status)
        self.payment = payment
        self.details = details


@transaction.atomic
def payment_apply_status(
    *,
    payment: Payment,
    status: StatusResult,
    method: str,
    actor,
    claimed_amount: Decimal | None = None,
    comment: str = "",
) -> Payment:
    """Apply what the gateway proved about the order. States only move forward.

    Paid -> verified (after checking amount and currency against the payment, and against what
    the callback claimed); declined/reversed -> declined; expired -> expired; anything else
    leaves the payment pending. A repeat of a step already taken changes nothing.
    """
    payment = payment_lock(payment)
    if status.order_number and status.order_number != payment.order_number:
        raise PaymentError.ORDER_MISMATCH.error("The gateway's answer is about another order.")
    if (
        status.provider_reference
        and payment.provider_reference
        and status.provider_reference != payment.provider_reference
    ):
        raise PaymentError.REFERENCE_MISMATCH.error("The gateway's answer is about another order.")
    if status.state in PAID_STATES:
        if (
            status.amount != payment.amount
            or status.currency != payment.currency
            or (claimed_amount is not None and claimed_amount != status.amount)
        ):
            raise AmountMismatch(
                f"Payment {payment.order_number}: the gateway reports {status.amount} "
                f"{status.currency}, the payment is {payment.amount} {payment.currency}"
                + (f", the callback claimed {claimed_amount}" if claimed_amount is not None else "")
                + ".",
                payment=payment,
                details={
                    "order_number": payment.order_number,
                    "payment_amount": str(payment.amount),
                    "payment_currency": payment.currency,
                    "lookup_amount": str(status.amount),
                    "lookup_currency": status.currency,
                    "callback_amount": None if claimed_amount is None else str(claimed_amount),
                },
            )
        if payment.status in Payment.FINAL_UNPAID_STATUSES:
            late_payment_record(payment, status=status, method=method, actor=actor)
            return payment
        if payment.status != Payment.Status.PENDING:
            return payment  # already verified (or refunded): nothing to do
        return _verify(payment, status=status, method=method, actor=actor, comment=comment)
    if payment.status != Payment.Status.PENDING:
        return payment
    if status.state in (ProviderState.DECLINED, ProviderState.REVERSED):
        return finish_unpaid(payment, "mark_declined", status=status, actor=actor, method=method)
    if status.state is ProviderState.EXPIRED:
        return finish_unpaid(payment, "mark_expired", status=status, actor=actor, method=method)
    return payment


def _verify(
    payment: Payment,
    *,
    status: StatusResult | None,
    method: str,
    actor,
    comment="",
    reference: str = "",
) -> Payment:
    source = payment.status
    transition_apply(payment, "mark_verified", what="payment")
    # Under a sandbox test clock the payment is verified at the clock's time (the sandbox
    # gateway's own paid-at is real time, which would put it outside the clock's period).
    payment.verified_at = (
        clock_frozen_now(payment.organization_id)
        or (_parse_paid_at(status.paid_at) if status else None)
        or timezone.now()
    )
    payment.verification_method = method
    payment.next_check_at = None
    changed = _copy_card_details(payment, status) if status else []
    save_audited(payment, actor=actor, reason=f"verified ({method})")
    payment_state_record(
        payment,
        kind=PaymentEvent.Kind.VERIFIED,
        actor=actor,
        from_status=source,
        method=method,
        reference=reference or payment.provider_reference or "",
        comment=comment,
        data={"approval_code": payment.approval_code, "rrn": payment.rrn, "changed": changed},
    )
    return payment


def finish_unpaid(
    payment: Payment, method_name: str, *, status, actor, method: str, comment: str = ""
) -> Payment:
    source = payment.status
    transition_apply(payment, method_name, what="payment")
    payment.next_check_at = None
    if status is not None:
        _copy_card_details(payment, status)
    kind = payment.status  # "declined" or "expired"
    save_audited(payment, actor=actor, reason=f"{kind} ({method})")
    payment_state_record(
        payment,
        kind=kind,
        actor=actor,
        from_status=source,
        method=method,
        reference=payment.provider_reference or "",
        comment=comment,
        data={"action_code": payment.action_code} if payment.action_code else {},
    )
    return payment


@transaction.atomic
def payment_decline(*, payment: Payment, actor, reason: str) -> Payment:
    payment = payment_lock(payment)
    return finish_unpaid(
        payment, "mark_declined", status=None, actor=actor, method="manual", comment=reason
    )


@transaction.atomic
def payment_expire(*, payment: Payment, actor, reason: str = "payment window passed") -> Payment:
    payment = payment_lock(payment)
    return finish_unpaid(
        payment, "mark_expired", status=None, actor=actor, method="janitor", comment=reason
    )


@transaction.atomic
def payment_verify_manually(*, payment: Payment, actor, comment: str, reference: str) -> Payment:
    """An operator verifies a payment the gateway cannot confirm (e.g. seen in the bank)."""
    if not comment.strip() or not reference.strip():
        raise PaymentError.COMMENT_REQUIRED.error(
            "Manual verification needs a comment and the evidence's reference."
        )
    # The accounting period first (lock order; held FOR SHARE until commit, ``core.locks``).
    accounting_period_guard(
        organization=payment.organization,
        date=clock_today(payment.organization),
        what="A manual verification",
    )
    payment = payment_lock(payment)
    return _verify(
        payment,
        status=None,
        method=Payment.VerificationMethod.MANUAL,
        actor=actor,
        comment=comment.strip(),
        reference=reference.strip()[:128],
    )


def _copy_card_details(payment: Payment, status: StatusResult) -> list[str]:

    changed = []
    values = {
        "masked_pan": mask_pan(status.masked_pan),
        "approval_code": status.approval_code[:16],
        "rrn": status.rrn[:32],
        "action_code": status.action_code[:32],
        "action_description": status.action_description[:255],
        "binding_id": status.binding_id[:128],
    }
    for field, value in values.items():
        if value and getattr(payment, field) != value:
            setattr(payment, field, value)
            changed.append(field)
    if status.provider_reference and not payment.provider_reference:
        payment.provider_reference = status.provider_reference[:128]
        changed.append("provider_reference")
    return changed


def _parse_paid_at(value: str):
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if timezone.is_naive(parsed):
        return None
    return parsed


def raise_amount_mismatch(exc: AmountMismatch, *, actor) -> None:
    """List the mismatch for operators, in its own transaction (it must outlive a refusal)."""

    payment = exc.payment
    logger.error("amount mismatch: %s", exc.message)
    payment_case_raise(
        payment=payment,
        kind="amount_mismatch",
        message=exc.message,
        actor=actor,
        details=exc.details,
    )
