"""Reads of appointment payments. Nothing here returns the customer context: the admin shows it
(read-only inline) to holders of ``appointments.view_customer_context`` only."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from appointments.models import (
    Appointment,
    AppointmentEvent,
    AppointmentReconciliation,
    CancellationPolicy,
    PaymentRequest,
)
from core.models import Organization


def policy_list(*, organization: Organization) -> QuerySet[CancellationPolicy]:
    return CancellationPolicy.objects.filter(organization=organization)


def appointment_list(*, organization: Organization) -> QuerySet[Appointment]:
    return Appointment.objects.filter(organization=organization).select_related(
        "branch", "policy", "organization"
    )


def appointment_detail_list(*, organization: Organization) -> QuerySet[Appointment]:
    return appointment_list(organization=organization).prefetch_related(
        "slots",
        Prefetch(
            "payment_requests",
            queryset=PaymentRequest.objects.select_related("payment", "policy").order_by("pk"),
        ),
        Prefetch(
            "events",
            queryset=AppointmentEvent.objects.select_related("actor").order_by("occurred_at", "pk"),
        ),
    )


def appointment_get(*, organization: Organization, pk: int) -> Appointment | None:
    """An appointment of ``organization``; another organisation's does not exist (None)."""
    return appointment_detail_list(organization=organization).filter(pk=pk).first()


def payment_request_list(*, organization: Organization) -> QuerySet[PaymentRequest]:
    return PaymentRequest.objects.filter(organization=organization).select_related(
        "payment", "policy", "appointment__branch"
    )


def reconciliation_list(*, organization: Organization) -> QuerySet[AppointmentReconciliation]:
    return AppointmentReconciliation.objects.filter(organization=organization)
