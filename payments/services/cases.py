"""The exception cases payments lists for operators (``payments/exception_kinds.py``): one
writer for a case about a payment and one for a case about a refund, each keyed so a repeat
updates the open case instead of adding one."""

from __future__ import annotations

from payments.events import money_text
from payments.models import Payment, Refund


def payment_case_raise(
    *, payment: Payment, kind: str, actor, message: str, details: dict, key: str = ""
):
    """List ``kind`` about ``payment`` (dedup key ``<kind>:payment:<id>``)."""
    from exceptionqueue.services import exception_raise

    return exception_raise(
        organization=payment.organization,
        kind=kind,
        dedup_key=key or f"{kind}:payment:{payment.pk}",
        message=message,
        actor=actor,
        subject=payment,
        branch=payment.branch,
        amount=payment.amount,
        currency=payment.currency,
        details=details,
    )


def refund_case_raise(*, refund: Refund, actor, dedup_key: str, situation: str, reason: str):
    """List a refund for operators as a ``refund_stuck`` case (one per ``dedup_key``)."""
    from exceptionqueue.services import exception_raise

    payment = refund.payment
    return exception_raise(
        organization=payment.organization,
        kind="refund_stuck",
        dedup_key=dedup_key,
        message=(
            f"Refund {refund.pk} of {money_text(refund.amount, refund.currency)} {refund.currency} "
            f"on payment {payment.order_number} {situation}"
        ),
        actor=actor,
        subject=refund,
        branch=payment.branch,
        amount=refund.amount,
        currency=refund.currency,
        details={"refund": refund.pk, "order_number": payment.order_number, "reason": reason},
    )
