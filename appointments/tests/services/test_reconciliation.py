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


def test_a_late_payment_the_payments_core_caught_is_listed_for_the_request(
    organization, book, actor
):
    from payments.services import payment_expire, sandbox_pay

    request = services.payment_request_create(
        appointment=book(),
        kind="deposit",
        amount=Decimal("2000"),
        currency="AMD",
        expires_in_minutes=30,
        actor=actor,
    )
    payment_expire(payment=request.payment, actor=actor)  # the janitor's expiry
    request.refresh_from_db()
    assert request.status == "expired"
    sandbox_pay(payment=request.payment, outcome="approved", actor=actor)  # paid at the gateway
    request.refresh_from_db()
    assert request.status == "expired"  # never paid by itself
    row = services.appointments_reconcile_day(
        organization=organization, date=timezone.localdate(), actor=actor
    )
    assert [f["kind"] for f in row.findings] == ["late_appointment_payment"]
    case = ExceptionCase.objects.get(kind="late_appointment_payment")
    assert case.dedup_key == f"late_appointment_payment:request:{request.pk}"


class _DecliningRefundAdapter:
    """A gateway that refuses every refund: the refund is recorded failed."""

    def refund(self, *, provider_reference, amount, currency, refund_id):
        from payments.providers.base import RefundResult

        return RefundResult(
            provider_reference="", succeeded=False, code="declined", message="refused"
        )


def _paid(book, actor, *, external_ref, amount, currency):
    from payments.services import sandbox_pay

    request = services.payment_request_create(
        appointment=book(external_ref=external_ref),
        kind="deposit",
        amount=Decimal(amount),
        currency=currency,
        expires_in_minutes=60,
        actor=actor,
    )
    sandbox_pay(payment=request.payment, outcome="approved", actor=actor)
    request.refresh_from_db()
    return request


def test_daily_figures_split_by_currency_and_count_only_succeeded_refunds(
    organization, book, actor
):
    amd = _paid(book, actor, external_ref="amd", amount="10000.00", currency="AMD")
    usd = _paid(book, actor, external_ref="usd", amount="50.00", currency="USD")
    services.appointment_refund(
        appointment=amd.appointment, amount=Decimal("1000.00"), reason="goodwill", actor=actor
    )
    failed = services.appointment_refund(
        appointment=usd.appointment,
        amount=Decimal("20.00"),
        reason="goodwill",
        actor=actor,
        adapter=_DecliningRefundAdapter(),
    )
    assert failed.status == "failed"
    row = services.appointments_reconcile_day(
        organization=organization, date=timezone.localdate(), actor=actor
    )
    assert row.counts["paid"] == 2
    assert row.counts["refunds"] == 1  # the failed refund is no money back
    assert row.counts["provider_refunds_succeeded"] == 1
    by = row.totals["by_currency"]
    assert by["AMD"]["paid"] == "10000.00"
    assert by["AMD"]["refunds"] == "1000.00"
    assert by["AMD"]["provider_payments_verified"] == "10000.00"
    assert by["USD"]["paid"] == "50.00"
    assert by["USD"]["refunds"] == "0.00"
    assert by["USD"]["provider_payments_verified"] == "50.00"
    # The flat keys are the default currency's (AMD), never AMD and USD added together.
    assert row.totals["currency"] == "AMD"
    assert row.totals["paid"] == "10000.00"
    assert row.totals["provider_payments_verified"] == "10000.00"
    assert row.totals["refunds"] == "1000.00"
