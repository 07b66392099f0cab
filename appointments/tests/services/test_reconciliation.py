from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from appointments import services
from exceptionqueue.models import ExceptionCase

pytestmark = pytest.mark.django_db


def test_paid_but_cancelled_and_refunded_but_completed_are_listed_then_cleared(
    organization, paid_request, actor
):
    cancelled, cancelled_request = paid_request(external_ref="cancelled")
    services.appointment_cancel(appointment=cancelled, reason="r", by="customer", actor=actor)
    done, _ = paid_request(external_ref="done")
    services.appointment_refund(
        appointment=done, amount=Decimal("1000.00"), reason="goodwill", actor=actor
    )
    services.appointment_complete(appointment=done, actor=actor)
    today = timezone.localdate()
    row = services.appointments_reconcile_day(organization=organization, date=today, actor=actor)
    assert {f["kind"] for f in row.findings} == {
        "cancelled_paid_undecided",
        "refunded_but_completed",
    }
    assert row.counts["paid"] == 2
    assert row.counts["cancelled"] == 1
    assert row.counts["completed"] == 1
    assert row.counts["refunds"] == 1
    assert row.counts["provider_payments_verified"] == 2
    assert row.totals["refunds"] == "1000.00"
    assert ExceptionCase.objects.filter(status="open").count() == 2

    services.payment_request_forfeit(request=cancelled_request, reason="late", actor=actor)
    services.appointments_reconcile_day(organization=organization, date=today, actor=actor)
    open_kinds = set(ExceptionCase.objects.filter(status="open").values_list("kind", flat=True))
    assert open_kinds == {"refunded_but_completed"}
