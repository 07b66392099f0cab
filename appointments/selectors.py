"""Reads of appointment payments. Nothing here returns the customer context except
``customer_context_get``, which the admin calls only for holders of the dedicated permission."""

from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch, QuerySet

from appointments.models import (
    Appointment,
    AppointmentEvent,
    AppointmentReconciliation,
    CancellationPolicy,
    CustomerContext,
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


def appointments_of_day(*, organization: Organization, date: dt.date) -> QuerySet[Appointment]:
    start = dt.datetime.combine(date, dt.time.min, tzinfo=organization.tz)
    return appointment_list(organization=organization).filter(
        starts_at__gte=start, starts_at__lt=start + dt.timedelta(days=1)
    )


def reconciliation_list(*, organization: Organization) -> QuerySet[AppointmentReconciliation]:
    return AppointmentReconciliation.objects.filter(organization=organization)


def customer_context_get(*, appointment: Appointment, user) -> CustomerContext | None:
    """The customer context, for a user holding ``appointments.view_customer_context`` only."""
    if not user.has_perm("appointments.view_customer_context"):
        return None
    return CustomerContext.objects.filter(appointment=appointment).first()
