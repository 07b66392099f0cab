from __future__ import annotations

import datetime as dt

import pytest

from appointments import services
from appointments.models import Appointment, AppointmentEvent, AppointmentSlot, CustomerContext
from core.errors import DomainError

pytestmark = pytest.mark.django_db


def test_booking_keeps_the_customer_context_apart(book, actor):
    appointment = book(customer={"name": "Narek", "phone": "+374 77 000111"})
    context = CustomerContext.objects.get(appointment=appointment)
    assert (context.name, context.phone) == ("Narek", "+374 77 000111")
    field_names = {f.name for f in Appointment._meta.get_fields()}
    assert not {"diagnosis", "complaint", "notes", "name", "phone"} & field_names
    assert not hasattr(CustomerContext, "history")
    event = AppointmentEvent.objects.get(kind="booked")
    assert event.data == {"customer_context": True}
    assert AppointmentSlot.objects.filter(appointment=appointment).count() == 1


def test_a_slot_must_end_after_it_starts(book, actor):
    appointment = book()
    with pytest.raises(DomainError) as refused:
        services.appointment_transfer(
            appointment=appointment,
            starts_at=appointment.starts_at,
            ends_at=appointment.starts_at - dt.timedelta(minutes=1),
            actor=actor,
        )
    assert refused.value.code == "slot_ends_before_start"
    appointment.refresh_from_db()
    assert appointment.status == "booked"


def test_closed_appointments_cannot_move(book, actor):
    appointment = services.appointment_complete(appointment=book(), comment="done", actor=actor)
    for move in (
        lambda: services.appointment_transfer(
            appointment=appointment,
            starts_at=appointment.starts_at,
            ends_at=appointment.ends_at,
            actor=actor,
        ),
        lambda: services.appointment_cancel(
            appointment=appointment, reason="x", by="clinic", actor=actor
        ),
        lambda: services.appointment_no_show(appointment=appointment, actor=actor),
    ):
        with pytest.raises(DomainError) as refused:
            move()
        assert refused.value.code == "transition_not_allowed"
    assert list(appointment.events.values_list("kind", flat=True)) == ["booked", "completed"]


def test_cancel_needs_a_reason_and_who(book, actor):
    appointment = book()
    with pytest.raises(DomainError) as no_reason:
        services.appointment_cancel(appointment=appointment, reason=" ", by="clinic", actor=actor)
    assert no_reason.value.code == "reason_required"
    with pytest.raises(ValueError, match="customer or clinic"):
        services.appointment_cancel(appointment=appointment, reason="x", by="nobody", actor=actor)
    appointment.refresh_from_db()
    assert appointment.status == "booked"
