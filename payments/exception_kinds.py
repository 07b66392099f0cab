"""The exception kinds payments raises (registered in ``PaymentsConfig.ready``)."""

from __future__ import annotations

from exceptionqueue.kinds import ExceptionKind

AMOUNT_MISMATCH = ExceptionKind(
    "amount_mismatch",
    "Amount mismatch between callback and status lookup",
    severity="critical",
    blocking=True,
)
CALLBACK_REJECTED = ExceptionKind("callback_rejected", "Provider callback rejected")
LATE_PAYMENT = ExceptionKind("late_payment", "Paid after expiry or decline")
REFUND_STUCK = ExceptionKind("refund_stuck", "Refund outcome unknown")

KINDS = (AMOUNT_MISMATCH, CALLBACK_REJECTED, LATE_PAYMENT, REFUND_STUCK)
