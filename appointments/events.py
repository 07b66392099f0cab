"""One writer per audit and webhook event kind of appointment payments.

Every transition writes one ``AppointmentEvent`` (actor, time, reason, request id) and, where it
is a state change, one webhook outbox row (``webhooks.services.event_emit``) in the caller's
transaction. Event data and webhook bodies carry ids, statuses and amounts only: never the
customer context, never free text sent by the booking system beyond the reason.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from appointments.models import Appointment, AppointmentEvent, PaymentRequest

APPOINTMENT_EVENT_TYPES = tuple(f"appointment.{status}" for status in Appointment.Status.values)
REQUEST_EVENT_TYPES = tuple(
    f"appointment_payment_request.{status}" for status in PaymentRequest.Status.values
)
EVENT_TYPES = APPOINTMENT_EVENT_TYPES + REQUEST_EVENT_TYPES


def appointment_data(appointment: Appointment) -> dict[str, Any]:
    """The webhook view of an appointment: ids, slot and status only."""
    return {
        "id": appointment.pk,
        "external_ref": appointment.external_ref,
        "status": appointment.status,
        "service_id": appointment.service_id,
        "specialist_id": appointment.specialist_id,
        "branch": appointment.branch.code,
        "starts_at": appointment.starts_at.isoformat(),
        "ends_at": appointment.ends_at.isoformat(),
        "policy": {"code": appointment.policy.code, "version": appointment.policy.version},
    }


def request_data(request: PaymentRequest) -> dict[str, Any]:
    return {
        "id": request.pk,
        "appointment": request.appointment_id,
        "external_ref": request.appointment.external_ref,
        "kind": request.kind,
        "status": request.status,
        "amount": str(request.amount),
        "currency": request.currency,
        "expires_at": request.expires_at.isoformat(),
        "policy_version": request.policy.version,
        "payment": request.payment_id,
        "order_number": request.payment.order_number,
    }


def _write(
    *,
    appointment: Appointment,
    kind: str,
    actor,
    from_status: str = "",
    to_status: str = "",
    reason: str = "",
    request: PaymentRequest | None = None,
    amount: Decimal | None = None,
    currency: str = "",
    data: dict | None = None,
    at=None,
) -> AppointmentEvent:
    fields = {"occurred_at": at} if at is not None else {}
    return AppointmentEvent.objects.create(
        organization_id=appointment.organization_id,
        appointment=appointment,
        payment_request=request,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        reason=reason,
        amount=amount,
        currency=currency,
        data=data or {},
        actor=actor,
        **fields,
    )


def _emit(*, organization, event_type: str, subject: str, subject_id: int, data, event) -> None:
    from webhooks.services import event_emit

    event_emit(
        organization=organization,
        event_type=event_type,
        subject=subject,
        subject_id=subject_id,
        data=data,
        dedup=f"event:{event.pk}",
    )


def appointment_transitioned(
    appointment: Appointment,
    *,
    kind: str,
    from_status: str,
    actor,
    reason: str = "",
    data: dict | None = None,
    at=None,
) -> AppointmentEvent:
    """Booked, transferred, cancelled, no-show, completed: the event and its webhook."""
    event = _write(
        appointment=appointment,
        kind=kind,
        actor=actor,
        from_status=from_status,
        to_status=appointment.status,
        reason=reason,
        data=data,
        at=at,
    )
    body = appointment_data(appointment)
    if data:
        body["details"] = data
    _emit(
        organization=appointment.organization,
        event_type=f"appointment.{appointment.status}",
        subject="appointment",
        subject_id=appointment.pk,
        data=body,
        event=event,
    )
    return event


def request_transitioned(
    request: PaymentRequest,
    *,
    kind: str,
    from_status: str,
    actor,
    reason: str = "",
    data: dict | None = None,
    amount: Decimal | None = None,
    at=None,
) -> AppointmentEvent:
    """A payment request changed state: the event and ``appointment_payment_request.<status>``."""
    event = _write(
        appointment=request.appointment,
        kind=kind,
        actor=actor,
        from_status=from_status,
        to_status=request.status,
        reason=reason,
        request=request,
        amount=request.amount if amount is None else amount,
        currency=request.currency,
        data=data,
        at=at,
    )
    body = request_data(request)
    if data:
        body["details"] = data
    _emit(
        organization=request.appointment.organization,
        event_type=f"appointment_payment_request.{request.status}",
        subject="appointment_payment_request",
        subject_id=request.pk,
        data=body,
        event=event,
    )
    return event


def refund_recorded(
    request: PaymentRequest, *, refund, actor, reason: str, data: dict
) -> AppointmentEvent:
    """A refund decided and sent to the payments core (its own event, apart from cancellation)."""
    return _write(
        appointment=request.appointment,
        kind=AppointmentEvent.Kind.REFUND,
        actor=actor,
        reason=reason,
        request=request,
        amount=refund.amount,
        currency=refund.currency,
        data={"refund": refund.pk, "refund_status": refund.status, **data},
    )


def customer_context_erased(appointment: Appointment, *, actor, reason: str) -> AppointmentEvent:
    return _write(
        appointment=appointment,
        kind=AppointmentEvent.Kind.CUSTOMER_CONTEXT_ERASED,
        actor=actor,
        reason=reason,
    )
