"""Appointments: book, transfer (reschedule), cancel, no-show, complete.

Each is one transaction under the appointment's row lock (``appointments.locks``), writes a
history row (actor and reason) and one ``AppointmentEvent`` plus its webhook. Cancelling shows the
refund path the policy allows and refunds nothing by itself: the operator or the booking system
decides (``appointments.services.refunds``). Payment requests and their references survive a
transfer; the slot history keeps every slot the appointment held.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from appointments import events
from appointments.errors import AppointmentError
from appointments.locks import appointment_lock, requests_lock
from appointments.models import (
    Appointment,
    AppointmentEvent,
    AppointmentSlot,
    CustomerContext,
    PaymentRequest,
)
from appointments.services.payment_requests import request_expire_locked
from appointments.services.policies import policy_current
from appointments.services.refunds import governing_policy, refund_path
from core.audit import save_audited
from core.clock import clock_now
from core.errors import CoreError
from core.fsm import transition_apply
from core.models import Branch, Organization
from payments.errors import PaymentError


def _check_slot(starts_at: dt.datetime, ends_at: dt.datetime) -> None:
    if ends_at <= starts_at:
        raise AppointmentError.SLOT_ENDS_BEFORE_START.error(
            fields={"ends_at": ["Must be after starts_at."]}
        )


def _reason(value: str, field: str = "reason") -> str:
    value = (value or "").strip()
    if not value:
        raise CoreError.REASON_REQUIRED.error(fields={field: ["This field is required."]})
    return value


@transaction.atomic
def appointment_book(
    *,
    organization: Organization,
    branch: Branch,
    external_ref: str,
    service_id: str,
    specialist_id: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    policy_code: str,
    actor,
    customer: dict[str, str] | None = None,
) -> Appointment:
    """Book an appointment known by ids. ``customer`` (name, phone) goes to its own table."""
    if branch.organization_id != organization.pk:
        raise PaymentError.BRANCH_NOT_FOUND.error(
            "No branch with this code.", status_code=400, fields={"branch": ["No such branch."]}
        )
    _check_slot(starts_at, ends_at)
    policy = policy_current(organization=organization, code=policy_code)
    if policy is None:
        raise AppointmentError.POLICY_NOT_FOUND.error(
            fields={"policy": ["No cancellation policy with this code."]}
        )
    appointment = Appointment(
        organization=organization,
        branch=branch,
        external_ref=external_ref,
        service_id=service_id,
        specialist_id=specialist_id,
        starts_at=starts_at,
        ends_at=ends_at,
        policy=policy,
    )
    save_audited(appointment, actor=actor, reason="booked")
    AppointmentSlot.objects.create(
        organization=organization,
        appointment=appointment,
        starts_at=starts_at,
        ends_at=ends_at,
        specialist_id=specialist_id,
        actor=actor,
        comment="booked",
    )
    name = (customer or {}).get("name", "").strip()
    phone = (customer or {}).get("phone", "").strip()
    if name or phone:
        CustomerContext.objects.create(
            appointment=appointment, organization=organization, name=name, phone=phone
        )
    events.appointment_transitioned(
        appointment,
        kind=AppointmentEvent.Kind.BOOKED,
        from_status="",
        actor=actor,
        reason="booked",
        data={"customer_context": bool(name or phone)},
    )
    return appointment


@transaction.atomic
def appointment_transfer(
    *,
    appointment: Appointment,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    actor,
    specialist_id: str = "",
    comment: str = "",
) -> Appointment:
    """Move the appointment to another slot (and specialist). Its payment requests, their
    references and payment links stay; the slot history gains a row."""
    _check_slot(starts_at, ends_at)
    appointment = appointment_lock(appointment)
    source = appointment.status
    before = {
        "starts_at": appointment.starts_at.isoformat(),
        "ends_at": appointment.ends_at.isoformat(),
        "specialist_id": appointment.specialist_id,
    }
    transition_apply(appointment, "transfer", what="appointment")
    appointment.starts_at = starts_at
    appointment.ends_at = ends_at
    appointment.specialist_id = specialist_id or appointment.specialist_id
    save_audited(appointment, actor=actor, reason=comment or "transferred")
    AppointmentSlot.objects.create(
        organization_id=appointment.organization_id,
        appointment=appointment,
        starts_at=starts_at,
        ends_at=ends_at,
        specialist_id=appointment.specialist_id,
        actor=actor,
        comment=comment,
    )
    events.appointment_transitioned(
        appointment,
        kind=AppointmentEvent.Kind.TRANSFERRED,
        from_status=source,
        actor=actor,
        reason=comment,
        data={
            "from": before,
            "to": {
                "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(),
                "specialist_id": appointment.specialist_id,
            },
        },
    )
    return appointment


@transaction.atomic
def appointment_cancel(
    *, appointment: Appointment, reason: str, by: str, actor
) -> tuple[Appointment, dict[str, Any]]:
    """Cancel; returns the appointment and the refund path its policy allows (nothing refunded).

    Inside the window means less than the policy's ``window_hours`` before the slot, by the
    organisation's clock. Pending requests expire with it (a payment arriving later goes to
    manual review, never to paid).
    """
    reason = _reason(reason)
    if by not in Appointment.CancelledBy.values:
        raise ValueError(f"by is customer or clinic, not {by!r}.")  # the API validates it
    appointment = appointment_lock(appointment)
    source = appointment.status
    transition_apply(appointment, "cancel", what="appointment")
    now = clock_now(appointment.organization)
    policy = governing_policy(appointment)
    appointment.cancelled_by = by
    appointment.cancelled_at = now
    appointment.cancelled_within_window = (appointment.starts_at - now) < dt.timedelta(
        hours=policy.window_hours
    )
    save_audited(appointment, actor=actor, reason=f"cancelled by {by}: {reason}")
    for request in requests_lock(appointment):
        if request.status == PaymentRequest.Status.PENDING:
            request_expire_locked(request, actor=actor, reason="appointment cancelled")
    path = refund_path(appointment, now=now)
    events.appointment_transitioned(
        appointment,
        kind=AppointmentEvent.Kind.CANCELLED,
        from_status=source,
        actor=actor,
        reason=reason,
        data={"by": by, "refund_path": path},
    )
    return appointment, path


def _close(appointment: Appointment, *, method: str, kind: str, comment: str, actor):
    appointment = appointment_lock(appointment)
    source = appointment.status
    transition_apply(appointment, method, what="appointment")
    save_audited(appointment, actor=actor, reason=comment or kind)
    if kind == AppointmentEvent.Kind.NO_SHOW:
        # Nobody will pay for a visit that did not happen. A completed visit keeps its pending
        # request: the customer may still pay the full price at the desk's link.
        for request in requests_lock(appointment):
            if request.status == PaymentRequest.Status.PENDING:
                request_expire_locked(request, actor=actor, reason="appointment no-show")
    data = {}
    if kind == AppointmentEvent.Kind.NO_SHOW:
        data["refund_path"] = refund_path(appointment, now=clock_now(appointment.organization))
    events.appointment_transitioned(
        appointment, kind=kind, from_status=source, actor=actor, reason=comment, data=data
    )
    return appointment


@transaction.atomic
def appointment_no_show(*, appointment: Appointment, actor, comment: str = "") -> Appointment:
    """The customer did not come. The no-show share of the policy applies to any refund."""
    return _close(
        appointment,
        method="mark_no_show",
        kind=AppointmentEvent.Kind.NO_SHOW,
        comment=comment,
        actor=actor,
    )


@transaction.atomic
def appointment_complete(*, appointment: Appointment, actor, comment: str = "") -> Appointment:
    return _close(
        appointment,
        method="complete",
        kind=AppointmentEvent.Kind.COMPLETED,
        comment=comment,
        actor=actor,
    )
