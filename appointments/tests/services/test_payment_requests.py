from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from appointments import services
from appointments.models import AppointmentEvent, PaymentRequest
from conftest import run_together
from core.errors import DomainError
from payments.models import Payment
from payments.services import sandbox_pay

pytestmark = pytest.mark.django_db


def deposit(appointment, actor, **kwargs):
    values = {"kind": "deposit", "amount": Decimal("3000"), "currency": "AMD"}
    values.update(kwargs)
    values.setdefault("expires_in_minutes", 30)
    return services.payment_request_create(appointment=appointment, actor=actor, **values)


def test_request_makes_an_appointment_payment_with_a_link(book, actor):
    request = deposit(book(), actor)
    assert request.status == "pending"
    assert request.payment.purpose == Payment.Purpose.APPOINTMENT
    assert request.payment.payment_url
    assert request.payment.amount == Decimal("3000.00")
    event = AppointmentEvent.objects.get(kind="request_created")
    assert (event.payment_request, event.to_status, event.actor) == (request, "pending", actor)


def test_one_active_request_of_a_kind(book, actor):
    appointment = book()
    deposit(appointment, actor)
    with pytest.raises(DomainError) as refused:
        deposit(appointment, actor)
    assert refused.value.code == "active_payment_request_exists"
    deposit(appointment, actor, kind="full")  # another kind is fine
    assert PaymentRequest.objects.count() == 2


def test_expiry_in_the_past_and_closed_appointment_are_refused(book, actor):
    appointment = book()
    with pytest.raises(DomainError) as past:
        deposit(appointment, actor, expires_in_minutes=0)
    assert past.value.code == "expiry_in_past"
    assert list(past.value.fields) == ["expires_in_minutes"]
    services.appointment_complete(appointment=appointment, actor=actor)
    with pytest.raises(DomainError) as closed:
        deposit(appointment, actor)
    assert closed.value.code == "appointment_closed"
    assert not Payment.objects.exists()


def test_declined_payment_expires_the_request(book, actor):
    request = deposit(book(), actor)
    sandbox_pay(payment=request.payment, outcome="declined", actor=actor)
    request.refresh_from_db()
    assert request.status == "expired"
    assert AppointmentEvent.objects.get(kind="request_expired").reason == "payment declined"


def test_expire_runner_is_idempotent(organization, book, actor):
    request = deposit(book(), actor)
    later = request.expires_at + dt.timedelta(seconds=1)
    ran = services.payment_requests_expire_due(organization=organization, now=later, actor=actor)
    assert ran == {"appointment_requests_expired": 1}
    again = services.payment_requests_expire_due(organization=organization, now=later, actor=actor)
    assert again == {"appointment_requests_expired": 0}
    assert AppointmentEvent.objects.filter(kind="request_expired").count() == 1


def test_transfer_keeps_request_and_cancel_expires_pending(book, actor):
    appointment = book()
    request = deposit(appointment, actor)
    start = appointment.starts_at + dt.timedelta(days=2)
    services.appointment_transfer(
        appointment=appointment, starts_at=start, ends_at=start + dt.timedelta(hours=1), actor=actor
    )
    request.refresh_from_db()
    assert request.status == "pending"
    services.appointment_cancel(appointment=appointment, reason="x", by="clinic", actor=actor)
    request.refresh_from_db()
    assert request.status == "expired"
    sandbox_pay(payment=request.payment, outcome="approved", actor=actor)  # paid anyway
    request.refresh_from_db()
    assert request.status == "manual_review"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_requests_at_once_one_wins(book, actor):
    appointment = book()

    def attempt():
        return deposit(appointment, actor)

    outcomes = run_together(attempt, attempt)
    winners = [o for o in outcomes if isinstance(o, PaymentRequest)]
    losers = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(winners) == 1, outcomes
    assert [e.code for e in losers] == ["active_payment_request_exists"]
    assert PaymentRequest.objects.count() == 1
