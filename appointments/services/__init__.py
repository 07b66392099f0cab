"""Writes of appointment payments, one module per concept (see each module's docstring)."""

from appointments.services.appointments import (
    appointment_book,
    appointment_cancel,
    appointment_complete,
    appointment_no_show,
    appointment_transfer,
)
from appointments.services.customer_context import (
    customer_context_erase_expired,
    retention_days,
)
from appointments.services.payment_requests import (
    on_payment_change,
    payment_request_accept,
    payment_request_create,
    payment_request_forfeit,
    payment_requests_expire_due,
)
from appointments.services.policies import policy_create, policy_current, policy_in_force
from appointments.services.reconciliation import appointments_reconcile_day
from appointments.services.refunds import appointment_refund, policy_share, refund_path

__all__ = [
    "appointment_book",
    "appointment_cancel",
    "appointment_complete",
    "appointment_no_show",
    "appointment_refund",
    "appointment_transfer",
    "appointments_reconcile_day",
    "customer_context_erase_expired",
    "on_payment_change",
    "payment_request_accept",
    "payment_request_create",
    "payment_request_forfeit",
    "payment_requests_expire_due",
    "policy_create",
    "policy_current",
    "policy_in_force",
    "policy_share",
    "refund_path",
    "retention_days",
]
