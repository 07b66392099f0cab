"""The exception kinds payouts raises (registered in ``PayoutsConfig.ready``)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from exceptionqueue.kinds import ExceptionKind

NO_VERIFIED_PAYMENTS = ExceptionKind(
    "no_verified_payments", _("No verified payments for a payout period"), severity="low"
)
DUPLICATE_ACTIVE_PAYOUT = ExceptionKind(
    "duplicate_active_payout", _("Duplicate active payout scope"), blocking=True
)
REFUND_DRIFT = ExceptionKind(
    "refund_drift", _("Refund after a payout request (drift)"), severity="high", blocking=True
)
COMPLETED_WITHOUT_REFERENCE = ExceptionKind(
    "completed_without_reference",
    _("Completed payout without reference"),
    severity="high",
    blocking=True,
)
LATE_PAYMENT_IN_CLOSED_PERIOD = ExceptionKind(
    "late_payment_in_closed_period", _("Payment verified into a closed payout period")
)
PERIOD_BUILD_FAILED = ExceptionKind("period_build_failed", _("Payout period build failed"))

KINDS = (
    NO_VERIFIED_PAYMENTS,
    DUPLICATE_ACTIVE_PAYOUT,
    REFUND_DRIFT,
    COMPLETED_WITHOUT_REFERENCE,
    LATE_PAYMENT_IN_CLOSED_PERIOD,
    PERIOD_BUILD_FAILED,
)
