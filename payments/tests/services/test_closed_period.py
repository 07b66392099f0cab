"""A closed accounting period refuses the payment changes dated in it (409 ``period_closed``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from core.clock import clock_today
from core.errors import DomainError
from core.models import AccountingPeriod
from payments import services
from payments.models import Payment, Refund
from payments.tests.conftest import decide, registered


def close_today(organization):
    today = clock_today(organization)
    period = AccountingPeriod.objects.create(
        organization=organization,
        start=today.replace(day=1),
        end=today + dt.timedelta(days=1),
    )
    AccountingPeriod.objects.filter(pk=period.pk).update(status=AccountingPeriod.Status.CLOSED)
    return period


def test_a_refund_dated_in_a_closed_period_is_refused_and_nothing_reserved(
    payment, system_user, organization
):
    payment, order = registered(payment, system_user)
    decide(order)
    payment = services.payment_check_status(payment=payment, actor=system_user)
    close_today(organization)
    with pytest.raises(DomainError) as refused:
        services.payment_refund(
            payment=payment, amount=Decimal("100.00"), reason="late", actor=system_user
        )
    assert refused.value.code == "period_closed"
    assert refused.value.status_code == 409
    assert "A refund is dated" in refused.value.message
    assert not Refund.objects.exists()
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("0.00")


def test_a_manual_verification_in_a_closed_period_is_refused(payment, system_user, organization):
    close_today(organization)
    with pytest.raises(DomainError) as refused:
        services.payment_verify_manually(
            payment=payment, actor=system_user, comment="seen in bank", reference="B-1"
        )
    assert refused.value.code == "period_closed"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
