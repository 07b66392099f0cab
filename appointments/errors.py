"""The error codes of appointment payments (see ``core.errors``)."""

from __future__ import annotations

from core.errors import ErrorCode


class AppointmentError(ErrorCode):
    REFUND_OUTSIDE_POLICY = (
        "refund_outside_policy",
        422,
        "The refund is above the cancellation policy's share: an override reason from a role "
        "allowed to override is needed.",
    )
    DECIDED_BY_PAYMENT_DECISION = (
        "decided_by_payment_decision",
        409,
        "This case is resolved by a decision on its payment request (accept, forfeit or refund).",
    )
    NOTHING_PAID = ("nothing_paid", 422, "No payment of this appointment holds money to refund.")
    PAYMENT_REQUEST_REQUIRED = (
        "payment_request_required",
        400,
        "The appointment has several paid requests: name the one to refund.",
    )
    SLOT_ENDS_BEFORE_START = ("slot_ends_before_start", 400, "A slot must end after it starts.")
    EXPIRY_IN_PAST = ("expiry_in_past", 400, "The expiry must be in the future.")
    ACTIVE_REQUEST_EXISTS = (
        "active_payment_request_exists",
        409,
        "The appointment already has an active payment request of this kind.",
    )
    APPOINTMENT_CLOSED = (
        "appointment_closed",
        409,
        "The appointment is cancelled, completed or a no-show: no new payment request.",
    )
    POLICY_NOT_FOUND = ("policy_not_found", 400, "No cancellation policy with this code.")
    GATEWAY_NOT_CONFIGURED = (
        "gateway_not_configured",
        409,
        "The organisation has no active gateway for this payment.",
    )
