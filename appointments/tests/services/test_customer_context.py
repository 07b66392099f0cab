from __future__ import annotations

import datetime as dt

import pytest

from appointments import services
from appointments.models import AppointmentEvent, CustomerContext

pytestmark = pytest.mark.django_db


def test_retention_erases_old_contexts_only(organization, book, actor, settings):
    settings.APPOINTMENTS_CUSTOMER_CONTEXT_RETENTION_DAYS = 30
    old = book(days=1, customer={"name": "Old", "phone": "+374 10 000000"}, external_ref="old")
    recent = book(days=20, customer={"name": "New", "phone": "+374 10 111111"}, external_ref="new")
    now = old.ends_at + dt.timedelta(days=31)
    ran = services.customer_context_erase_expired(organization=organization, now=now, actor=actor)
    assert ran == {"customer_contexts_erased": 1}
    assert list(CustomerContext.objects.values_list("appointment_id", flat=True)) == [recent.pk]
    event = AppointmentEvent.objects.get(kind="customer_context_erased")
    assert (event.appointment_id, event.data) == (old.pk, {})
    again = services.customer_context_erase_expired(organization=organization, now=now, actor=actor)
    assert again == {"customer_contexts_erased": 0}
