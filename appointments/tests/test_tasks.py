from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from appointments import services, tasks
from appointments.models import AppointmentReconciliation, CustomerContext, PaymentRequest
from core import clock
from core.tasks import run_due_work

pytestmark = pytest.mark.django_db


def test_beat_due_work_expires_requests_by_the_test_clock(organization, book, actor):
    request = services.payment_request_create(
        appointment=book(),
        kind="deposit",
        amount=Decimal("1000"),
        currency="AMD",
        expires_in_minutes=15,
        actor=actor,
    )
    run_due_work()
    request.refresh_from_db()
    assert request.status == "pending"
    clock.test_clock_advance(
        organization=organization, now=timezone.now() + dt.timedelta(minutes=16), actor=actor
    )
    run_due_work()
    request.refresh_from_db()
    assert request.status == PaymentRequest.Status.EXPIRED
    assert request.events.get(kind="request_expired").actor.username == "system.due-work"


def test_reconcile_yesterday_runs_for_every_organisation(organization, other_organization):
    assert tasks.reconcile_yesterday() == 2
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    assert AppointmentReconciliation.objects.filter(date=yesterday).count() == 2
    assert tasks.reconcile_day(organization.pk, yesterday.isoformat()) == 0
    assert AppointmentReconciliation.objects.filter(date=yesterday).count() == 2


def test_retention_task(organization, book, settings):
    settings.APPOINTMENTS_CUSTOMER_CONTEXT_RETENTION_DAYS = 0
    book(days=-1, customer={"name": "Gone", "phone": ""})
    assert tasks.customer_context_retention() == 1
    assert not CustomerContext.objects.exists()


def test_reconcile_command(organization, paid_request, actor):
    import io

    from django.core.management import CommandError, call_command

    appointment, _ = paid_request()
    services.appointment_cancel(appointment=appointment, reason="r", by="clinic", actor=actor)
    out = io.StringIO()
    today = timezone.localdate().isoformat()
    call_command("reconcile_appointments", "--org", organization.slug, "--date", today, stdout=out)
    assert f"{organization.slug} {today}:" in out.getvalue()
    assert "cancelled_paid_undecided: appointment #" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("reconcile_appointments", "--org", "nope", stdout=io.StringIO())


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1969-12-31"])
def test_reconcile_command_refuses_a_date_beyond_the_accepted_range(organization, day):
    """``--date 9999-12-31`` was a traceback (OverflowError at the day after)."""
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError) as caught:
        call_command("reconcile_appointments", "--org", organization.slug, "--date", day)
    assert "1970-01-01 to 9998-12-31" in str(caught.value)
    assert not AppointmentReconciliation.objects.exists()
