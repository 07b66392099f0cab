"""The exception kinds payments raises (registered in ``PaymentsConfig.ready``)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from exceptionqueue.kinds import ExceptionKind

AMOUNT_MISMATCH = ExceptionKind(
    "amount_mismatch",
    _("Amount mismatch between callback and status lookup"),
    severity="critical",
    blocking=True,
)
CALLBACK_REJECTED = ExceptionKind("callback_rejected", _("Provider callback rejected"))
LATE_PAYMENT = ExceptionKind("late_payment", _("Paid after expiry or decline"))
REFUND_STUCK = ExceptionKind("refund_stuck", _("Refund outcome unknown"))

KINDS = (AMOUNT_MISMATCH, CALLBACK_REJECTED, LATE_PAYMENT, REFUND_STUCK)
