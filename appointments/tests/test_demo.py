from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from appointments.models import Appointment, PaymentRequest

pytestmark = pytest.mark.django_db


def test_demo_has_every_state_and_is_idempotent(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=io.StringIO())
    appointments = Appointment.objects.filter(organization__slug="arabkir-dental")
    assert set(appointments.values_list("status", flat=True)) == set(Appointment.Status.values)
    requests = PaymentRequest.objects.filter(organization__slug="arabkir-dental")
    assert set(requests.values_list("status", flat=True)) == set(PaymentRequest.Status.values)
    assert set(requests.values_list("policy__version", flat=True)) == {1}
    count = appointments.count()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=io.StringIO())
    assert Appointment.objects.filter(organization__slug="arabkir-dental").count() == count
