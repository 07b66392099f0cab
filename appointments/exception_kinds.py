"""The exception kinds appointment payments raise (registered in ``AppointmentsConfig.ready``)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from exceptionqueue.kinds import ExceptionKind

LATE_APPOINTMENT_PAYMENT = ExceptionKind(
    "late_appointment_payment",
    _("Payment arrived for an expired appointment request"),
    severity="high",
    blocking=True,
)
CANCELLED_PAID_UNDECIDED = ExceptionKind(
    "cancelled_paid_undecided",
    _("Cancelled appointment still holds a payment (no refund or forfeit decided)"),
    severity="high",
)
NO_SHOW_PAID_UNDECIDED = ExceptionKind(
    "no_show_paid_undecided",
    _("No-show appointment still holds a payment (no refund or forfeit decided)"),
    severity="low",
)
REFUNDED_BUT_COMPLETED = ExceptionKind(
    "refunded_but_completed",
    _("Completed appointment whose payment was refunded"),
    severity="medium",
)
REQUEST_PAYMENT_MISMATCH = ExceptionKind(
    "appointment_request_payment_mismatch",
    _("Appointment request and provider payment disagree"),
    severity="high",
    blocking=True,
)

KINDS = (
    LATE_APPOINTMENT_PAYMENT,
    CANCELLED_PAID_UNDECIDED,
    NO_SHOW_PAID_UNDECIDED,
    REFUNDED_BUT_COMPLETED,
    REQUEST_PAYMENT_MISMATCH,
)
