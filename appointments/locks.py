"""Lock order of appointment payments.

    payments.Payment  ->  Appointment  ->  PaymentRequest

A payment change reaches us through ``payments.hooks`` with the payment already locked by the
payments core, so our services lock the appointment first and its requests second, and never
lock a payment while holding them (refunds call the payments core after our transaction ends).
``no_key=True`` (FOR NO KEY UPDATE): inserting an event or slot row that references the
appointment takes KEY SHARE on it, which a plain FOR UPDATE would block.
"""

from __future__ import annotations

from appointments.models import Appointment, PaymentRequest


def appointment_lock(appointment: Appointment | int) -> Appointment:
    pk = appointment if isinstance(appointment, int) else appointment.pk
    return (
        Appointment.objects.select_for_update(no_key=True)
        .select_related("organization", "branch", "policy")
        .get(pk=pk)
    )


def request_lock(request: PaymentRequest | int) -> PaymentRequest:
    pk = request if isinstance(request, int) else request.pk
    return (
        PaymentRequest.objects.select_for_update(no_key=True)
        .select_related("payment", "policy", "organization")
        .get(pk=pk)
    )


def requests_lock(appointment: Appointment) -> list[PaymentRequest]:
    """Every request of ``appointment`` (already locked by the caller), locked, in id order."""
    return list(
        PaymentRequest.objects.select_for_update(no_key=True, of=("self",))
        .select_related("payment", "policy", "organization")
        .filter(appointment=appointment)
        .order_by("pk")
    )
