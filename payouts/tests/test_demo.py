"""The demo's refund drift is a real one, made through the services, about a payout."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.utils import timezone

from core.models import Branch, Organization
from exceptionqueue.models import ExceptionCase
from payouts.demo import drift_start, seed_demo
from payouts.models import Payout


def test_demo_drift_case_names_its_payout_and_is_decided_there(
    db, django_capture_on_commit_callbacks
):
    organization = Organization.objects.create(slug="yerevan-cafe", name="Yerevan Cafe")
    for code in ("northern-avenue", "cascade"):
        Branch.objects.create(organization=organization, code=code, name=code)
    for _ in range(2):  # idempotent: the second run makes no second drift
        with django_capture_on_commit_callbacks(execute=True):
            seed_demo(stdout=io.StringIO())
    case = ExceptionCase.objects.get(kind="refund_drift")
    held = Payout.objects.get(drift_hold=True)
    assert case.subject == held
    assert (held.status, held.recipient.external_ref) == ("processing", "cafe-w-mariam")
    assert case.amount == 1500
    # It does not sit in the demo's closed week: that period is closed and built.
    assert held.accounting_period is None
    assert not ExceptionCase.objects.filter(kind="refund_drift", subject_id="").exists()
    # Nor in last month (the desk's demo month, one blocker only), even early in a month.
    today = timezone.localtime(timezone.now(), organization.tz).date()
    assert case.period_start >= today.replace(day=1)
    assert held.period_start == drift_start(today)


@pytest.mark.parametrize(
    ("today", "start"),
    [
        ("2026-12-01", "2026-12-01"),  # Tuesday; its week began on 30 November
        ("2026-12-06", "2026-12-01"),  # Sunday of that week
        ("2026-12-07", "2026-12-07"),  # Monday
        ("2026-12-17", "2026-12-14"),  # mid-month Thursday
        ("2027-03-01", "2027-03-01"),  # a Monday that is the 1st
    ],
)
def test_drift_week_never_reaches_into_last_month(today, start):
    assert drift_start(dt.date.fromisoformat(today)) == dt.date.fromisoformat(start)


def test_demo_payments_look_like_sandbox_payments(db, django_capture_on_commit_callbacks):
    """Each demo QR payment was paid at the sandbox gateway: the gateway's order id as its
    reference (the sandbox has that order, deposited, for the same amount), the test card,
    and its order opened one to four minutes before it was paid."""
    import uuid

    from payments.models import Payment, SandboxOrder
    from payments.sandbox import TEST_CARD_PAN

    organization = Organization.objects.create(slug="yerevan-cafe", name="Yerevan Cafe")
    for code in ("northern-avenue", "cascade"):
        Branch.objects.create(organization=organization, code=code, name=code)
    with django_capture_on_commit_callbacks(execute=True):
        seed_demo(stdout=io.StringIO())
    payments = Payment.objects.filter(organization=organization, qr_payment__isnull=False)
    assert payments.count() > 20
    for payment in payments:
        assert payment.provider == "sandbox"
        order = SandboxOrder.objects.get(order_id=uuid.UUID(payment.provider_reference))
        assert (order.order_number, order.order_status) == (payment.order_number, 2)
        assert order.amount_minor == int(payment.amount * 100)
        assert payment.masked_pan == TEST_CARD_PAN
        assert payment.verification_method != "manual"
        if payment.status == "verified":  # not the drift's, paid through the whole round trip
            taken = payment.verified_at - payment.created_at
            assert dt.timedelta(minutes=1) <= taken <= dt.timedelta(minutes=4), payment.pk
