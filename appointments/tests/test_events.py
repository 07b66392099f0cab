from __future__ import annotations

from decimal import Decimal

import pytest

from appointments import services
from appointments.events import EVENT_TYPES
from webhooks.models import WebhookEvent
from webhooks.registry import known_event_types

pytestmark = pytest.mark.django_db


def test_every_transition_has_a_registered_webhook(paid_request, actor):
    assert set(EVENT_TYPES) <= set(known_event_types())
    appointment, request = paid_request(days=3)
    services.appointment_transfer(
        appointment=appointment,
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        actor=actor,
    )
    appointment, _ = services.appointment_cancel(
        appointment=appointment, reason="r", by="customer", actor=actor
    )
    services.appointment_refund(
        appointment=appointment, amount=Decimal("4000.00"), reason="part", actor=actor
    )
    services.appointment_refund(
        appointment=appointment, amount=Decimal("6000.00"), reason="rest", actor=actor
    )
    types = list(
        WebhookEvent.objects.filter(event_type__startswith="appointment")
        .order_by("created_at", "pk")
        .values_list("event_type", flat=True)
    )
    assert types == [
        "appointment.booked",
        "appointment_payment_request.pending",
        "appointment_payment_request.paid",
        "appointment.rescheduled",
        "appointment.cancelled",
        "appointment_payment_request.partially_refunded",
        "appointment_payment_request.refunded",
    ]
    body = WebhookEvent.objects.get(event_type="appointment_payment_request.refunded").data
    assert body["id"] == request.pk
    assert body["status"] == "refunded"
    assert body["policy_version"] == 1
