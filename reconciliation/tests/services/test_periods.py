"""Accounting periods: close refused before the period has ended and while blocking cases fall
in it, a closed period refuses changes, a late refund lands as an adjustment in the next open
period, reopen needs a reason and a permission."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from core.accounting import accounting_period_guard
from core.errors import DomainError
from core.models import AccountingPeriod
from exceptionqueue.services import exception_raise, exception_resolve
from payouts.tests.factories import refund
from reconciliation.models import AccountingPeriodEvent, PeriodAdjustment
from reconciliation.services import (
    accounting_period_blockers,
    accounting_period_close,
    accounting_period_create,
    accounting_period_month,
    accounting_period_reopen,
)
from reconciliation.tests.factories import local, paid

OCT = (dt.date(2026, 10, 1), dt.date(2026, 10, 31))


def _blocking_case(organization, actor, day):
    return exception_raise(
        organization=organization,
        kind="missing_in_payops",
        dedup_key=f"test:{day}",
        message="A row payops does not know.",
        actor=actor,
        period_start=day,
        period_end=day,
    )


def test_create_refuses_overlap_and_inversion(organization, actor):
    accounting_period_create(organization=organization, start=OCT[0], end=OCT[1], actor=actor)
    with pytest.raises(DomainError) as caught:
        accounting_period_create(
            organization=organization,
            start=dt.date(2026, 10, 20),
            end=dt.date(2026, 11, 20),
            actor=actor,
        )
    assert caught.value.code == "period_overlap"
    with pytest.raises(DomainError) as caught:
        accounting_period_create(
            organization=organization,
            start=dt.date(2026, 12, 2),
            end=dt.date(2026, 12, 1),
            actor=actor,
        )
    assert caught.value.code == "invalid"
    november = accounting_period_month(
        organization=organization, day=dt.date(2026, 11, 9), actor=actor
    )
    assert (november.start, november.end) == (dt.date(2026, 11, 1), dt.date(2026, 11, 30))


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (dt.date(9999, 12, 1), dt.date(9999, 12, 31), "start"),
        (dt.date(9998, 12, 1), dt.date(9999, 1, 31), "end"),
        (dt.date(1969, 12, 1), dt.date(1970, 1, 31), "start"),
        (dt.date(1, 1, 1), dt.date(1, 1, 31), "start"),
    ],
)
def test_create_refuses_dates_beyond_the_accepted_range(organization, actor, start, end, field):
    """A period in 9999 passed, then every page showing it overflowed (9999-12-31 + 1 day)."""
    with pytest.raises(DomainError) as caught:
        accounting_period_create(organization=organization, start=start, end=end, actor=actor)
    assert caught.value.code == "invalid"
    assert caught.value.status_code == 400
    assert "1970-01-01 and 9998-12-31" in caught.value.message
    assert field in caught.value.fields
    day = start if field == "start" else end
    with pytest.raises(DomainError):
        accounting_period_month(organization=organization, day=day, actor=actor)
    assert not AccountingPeriod.objects.filter(organization=organization).exists()


def test_create_accepts_the_first_and_last_accepted_months(organization, actor):
    for start, end in (
        (dt.date(1970, 1, 1), dt.date(1970, 1, 31)),
        (dt.date(9998, 12, 1), dt.date(9998, 12, 31)),
    ):
        period = accounting_period_create(
            organization=organization, start=start, end=end, actor=actor
        )
        assert (period.start, period.end) == (start, end)


def test_close_is_refused_naming_the_blocking_cases(organization, actor):
    period = accounting_period_create(
        organization=organization, start=OCT[0], end=OCT[1], actor=actor
    )
    case = _blocking_case(organization, actor, dt.date(2026, 10, 12))
    _blocking_case(organization, actor, dt.date(2026, 11, 2))  # another period: no matter
    with pytest.raises(DomainError) as caught:
        accounting_period_close(period=period, actor=actor)
    assert caught.value.code == "period_blocked"
    assert f"missing_in_payops #{case.pk}" in caught.value.message
    assert "1 blocking case" in caught.value.message
    period.refresh_from_db()
    assert period.status == "open"
    assert AccountingPeriodEvent.objects.filter(period=period, action="close_refused").exists()
    exception_resolve(case=case, actor=actor, note="booked by hand")
    closed = accounting_period_close(period=period, actor=actor)
    assert closed.status == "closed"
    assert closed.closed_by == actor
    event = AccountingPeriodEvent.objects.get(period=period, action="closed")
    assert "figures" in event.data


def test_closed_period_refuses_change_and_late_refund_is_an_adjustment(organization, branch, actor):
    payment = paid(organization, branch, "5000.00", at=local(organization, dt.date(2026, 10, 7)))
    period = accounting_period_create(
        organization=organization, start=OCT[0], end=OCT[1], actor=actor
    )
    accounting_period_close(period=period, actor=actor)
    # The kernel guard refuses a change dated in the closed period ...
    with pytest.raises(DomainError) as caught:
        accounting_period_guard(
            organization=organization, date=payment.verified_at, what="A refund"
        )
    assert caught.value.code == "period_closed"
    # ... and a refund made later lands as an adjustment in the next open period.
    made = refund(payment, "1200.00")
    adjustment = PeriodAdjustment.objects.get(refund=made)
    assert adjustment.kind == "late_refund"
    assert adjustment.amount == Decimal("-1200.00")
    assert adjustment.origin_period == period
    assert adjustment.origin_date == dt.date(2026, 10, 7)
    assert adjustment.payment == payment
    assert adjustment.booked_on > OCT[1]


def test_refund_of_an_open_period_payment_is_no_adjustment(organization, branch, actor):
    from django.utils import timezone

    payment = paid(organization, branch, "5000.00", at=timezone.now())
    refund(payment, "100.00")
    assert not PeriodAdjustment.objects.exists()


def test_reopen_needs_a_reason_and_the_permission(organization, actor):
    from django.contrib.auth import get_user_model

    period = accounting_period_create(
        organization=organization, start=OCT[0], end=OCT[1], actor=actor
    )
    accounting_period_close(period=period, actor=actor)
    accountant = get_user_model().objects.create_user("ani", password="x")
    with pytest.raises(DomainError) as caught:
        accounting_period_reopen(period=period, actor=accountant, reason="  ")
    assert caught.value.code == "reason_required"
    with pytest.raises(DomainError) as caught:
        accounting_period_reopen(period=period, actor=accountant, reason="late invoice")
    assert caught.value.code == "permission_denied"
    accountant.user_permissions.add(Permission.objects.get(codename="reopen_accountingperiod"))
    accountant = get_user_model().objects.get(pk=accountant.pk)
    reopened = accounting_period_reopen(period=period, actor=accountant, reason="late invoice")
    assert reopened.status == AccountingPeriod.Status.OPEN
    event = AccountingPeriodEvent.objects.get(period=period, action="reopened")
    assert (event.actor, event.comment) == (accountant, "late invoice")
    history = reopened.history.first()
    assert history.history_change_reason == "reopened: late invoice"
    with pytest.raises(DomainError) as caught:
        accounting_period_reopen(period=period, actor=accountant, reason="again")
    assert caught.value.code == "transition_not_allowed"


def test_late_payment_is_an_adjustment_in_the_open_period(organization, branch, actor):
    from django.utils import timezone

    from payments.models import Payment
    from payments.services import payment_verify_manually
    from payments.tests.factories import make_payment

    payment = make_payment(organization=organization, branch=branch, amount="700.00")
    Payment.objects.filter(pk=payment.pk).update(
        created_at=local(organization, dt.date(2026, 10, 30))
    )
    period = accounting_period_create(
        organization=organization, start=OCT[0], end=OCT[1], actor=actor
    )
    accounting_period_close(period=period, actor=actor)
    payment_verify_manually(
        payment=Payment.objects.get(pk=payment.pk),
        actor=actor,
        comment="seen in the bank",
        reference="B-1",
    )
    adjustment = PeriodAdjustment.objects.get(payment=payment)
    assert adjustment.kind == "late_payment"
    assert adjustment.amount == Decimal("700.00")
    assert adjustment.origin_date == dt.date(2026, 10, 30)
    assert adjustment.booked_on == timezone.localtime(timezone.now(), organization.tz).date()


def _this_month(organization, actor):
    from core.clock import clock_today

    return accounting_period_month(
        organization=organization, day=clock_today(organization), actor=actor
    )


def test_the_current_month_does_not_close_before_it_has_ended(organization, actor):
    """Today (whichever day of the month, the 1st and the last included) lies in this month: its
    close is refused 409 period_not_ended, and recorded, so a payment of a later day of the
    month never lands in a closed period. Nothing else blocks it."""
    period = _this_month(organization, actor)
    with pytest.raises(DomainError) as caught:
        accounting_period_close(period=period, actor=actor)
    assert (caught.value.code, caught.value.status_code) == ("period_not_ended", 409)
    day_after = period.end + dt.timedelta(days=1)
    assert f"it can be closed from {day_after.isoformat()}" in caught.value.message
    assert "Asia/Yerevan" in caught.value.message
    assert caught.value.fields == {}
    period.refresh_from_db()
    assert period.status == "open"
    refused = AccountingPeriodEvent.objects.get(period=period, action="close_refused")
    assert [b["kind"] for b in refused.data["blockers"]] == ["period_not_ended"]
    assert accounting_period_blockers(period=period)[0]["closable_from"] == day_after.isoformat()


def test_a_period_ends_at_midnight_in_the_organisations_time_zone(organization, actor, at_midnight):
    """23:59:59 of the last day in Yerevan is still the period (refused); 00:00 of the next day
    in Yerevan, 20:00 UTC of the last day, has ended it (closes): the UTC date would say not."""
    from core.clock import clock_now

    period = _this_month(organization, actor)
    with at_midnight(period, seconds=-1), pytest.raises(DomainError) as caught:
        accounting_period_close(period=period, actor=actor)
    assert caught.value.code == "period_not_ended"
    with at_midnight(period):
        assert clock_now(organization).astimezone(dt.UTC).date() == period.end
        closed = accounting_period_close(period=period, actor=actor)
    assert closed.status == "closed"


def test_a_period_not_ended_names_its_blocking_cases_too(organization, actor, month_ended):
    period = _this_month(organization, actor)
    case = _blocking_case(organization, actor, period.end)
    with pytest.raises(DomainError) as caught:
        accounting_period_close(period=period, actor=actor)
    assert caught.value.code == "period_not_ended"
    assert caught.value.fields["blocking_cases"] == [
        f"missing_in_payops #{case.pk}: A row payops does not know."
    ]
    with month_ended(period), pytest.raises(DomainError) as caught:
        accounting_period_close(period=period, actor=actor)
    assert caught.value.code == "period_blocked"  # ended: the case alone keeps it open


def test_a_future_period_does_not_close(organization, actor):
    period = _this_month(organization, actor)
    later = accounting_period_create(
        organization=organization,
        start=period.end + dt.timedelta(days=1),
        end=period.end + dt.timedelta(days=10),
        actor=actor,
    )
    with pytest.raises(DomainError) as caught:
        accounting_period_close(period=later, actor=actor)
    assert caught.value.code == "period_not_ended"


def test_the_test_clock_counts_only_in_the_sandbox(organization, actor, month_ended, settings):
    """Production time is real time: with the sandbox off a test clock past the month's end
    does not let the month close."""
    period = _this_month(organization, actor)
    settings.PAYOPS_SANDBOX = False
    with month_ended(period), pytest.raises(DomainError) as caught:
        accounting_period_close(period=period, actor=actor)
    assert caught.value.code == "period_not_ended"
