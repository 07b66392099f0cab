"""Payout requests (payouts.services.requests)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from core.errors import DomainError
from exceptionqueue.models import ExceptionCase
from payouts import services
from payouts.models import (
    Payout,
)
from payouts.tests.factories import paid, request, today

D = Decimal


def test_request_sums_payments_and_applies_the_fee_policy(organization, recipient, qr, actor):
    services.fee_policy_set(
        organization=organization, currency="AMD", percentage=D("2.5"), fixed=D("100"), actor=actor
    )
    day = today(organization)
    paid(qr, "1000.00")
    paid(qr, "2333.33")
    paid(qr, "10.00", currency="USD")
    payout = request(recipient, actor, day)
    assert (payout.status, payout.gross, payout.fee, payout.net, payout.payment_count) == (
        "requested",
        D("3333.33"),
        D("183.33"),
        D("3150.00"),
        2,
    )
    assert payout.branch == recipient.branch
    event = payout.events.get()
    assert (event.kind, event.to_status, event.actor, event.gross, event.net) == (
        "requested",
        "requested",
        actor,
        D("3333.33"),
        D("3150.00"),
    )
    assert payout.history.first().history_user == actor


def test_payments_outside_the_local_range_are_not_included(organization, recipient, qr, actor):
    day = today(organization) - dt.timedelta(days=10)
    paid(qr, "100.00", day=day)
    paid(qr, "200.00", day=day - dt.timedelta(days=1))
    paid(qr, "400.00", day=day + dt.timedelta(days=1))
    payout = request(recipient, actor, day)
    assert payout.gross == D("100.00")


def test_local_window_is_the_organisations_day(organization):
    start, end = services.local_window(organization, dt.date(2025, 3, 1), dt.date(2025, 3, 1))
    assert start.isoformat() == "2025-03-01T00:00:00+04:00"
    assert end.isoformat() == "2025-03-02T00:00:00+04:00"


def test_inverted_period_is_refused(organization, recipient, qr, actor):
    day = today(organization)
    with pytest.raises(DomainError) as exc:
        request(recipient, actor, day, day - dt.timedelta(days=1))
    assert (exc.value.code, exc.value.status_code) == ("invalid_period", 400)
    assert not Payout.objects.exists()


def test_currency_without_payments_is_422_and_listed(organization, recipient, qr, actor):
    paid(qr, "100.00")
    day = today(organization)
    for _ in range(2):
        with pytest.raises(DomainError) as exc:
            request(recipient, actor, day, currency="EUR")
        assert (exc.value.code, exc.value.status_code) == ("no_verified_payments", 422)
    case = ExceptionCase.objects.get(kind="no_verified_payments")
    assert case.occurrences == 2
    assert case.subject_id == str(recipient.pk)
    assert not Payout.objects.exists()


def test_overlapping_active_range_is_a_duplicate(organization, recipient, qr, actor):
    day = today(organization)
    paid(qr, "100.00", day=day - dt.timedelta(days=3))
    first = request(recipient, actor, day - dt.timedelta(days=7), day - dt.timedelta(days=1))
    with pytest.raises(DomainError) as exc:
        request(recipient, actor, day - dt.timedelta(days=1), day)
    assert (exc.value.code, exc.value.status_code) == ("duplicate_active_payout", 409)
    assert ExceptionCase.objects.filter(kind="duplicate_active_payout").count() == 1
    assert list(Payout.objects.all()) == [first]


def test_cancelled_payout_releases_its_payments(organization, recipient, qr, actor):
    day = today(organization)
    payment = paid(qr, "100.00")
    first = request(recipient, actor, day)
    services.payout_cancel(payout=first, actor=actor, comment="wrong range")
    second = request(recipient, actor, day)
    assert second.gross == D("100.00")
    first.refresh_from_db()
    # Cancelled payouts keep their lines (reports still show them), released.
    assert first.lines.get().payment_id == payment.pk
    assert not first.lines.get().active
    assert first.events.last().details == {"released_lines": 1}


def test_payment_is_in_at_most_one_holding_payout(organization, recipient, qr, actor):
    day = today(organization)
    paid(qr, "100.00")
    payout = request(recipient, actor, day)
    services.payout_process(payout=payout, actor=actor)
    services.payout_complete(payout=payout, actor=actor, method="cash", reference="RCPT-1")
    # A completed payout is not active: a new overlapping request is allowed, but finds nothing.
    with pytest.raises(DomainError) as exc:
        request(recipient, actor, day)
    assert exc.value.code == "no_verified_payments"


def test_range_in_a_closed_period_is_refused(organization, recipient, qr, actor):
    day = today(organization)
    paid(qr, "100.00", day=day - dt.timedelta(days=40))
    period = services.period_create(
        organization=organization,
        kind="month",
        start_date=day - dt.timedelta(days=45),
        end_date=day - dt.timedelta(days=35),
        actor=actor,
    )
    services.period_transition(period=period, to="closed", actor=actor)
    with pytest.raises(DomainError) as exc:
        request(recipient, actor, day - dt.timedelta(days=40))
    assert (exc.value.code, exc.value.status_code) == ("period_closed", 409)


def test_period_closed_names_the_period(organization, recipient, qr, actor):
    """Issue 9 (README walk-through): 409 ``period_closed`` named no period, so the reader could
    not tell which range to avoid."""
    start, end = dt.date(2025, 3, 1), dt.date(2025, 3, 31)
    period = services.period_create(
        organization=organization, kind="month", start_date=start, end_date=end, actor=actor
    )
    services.period_transition(period=period, to="closed", actor=actor)
    with pytest.raises(DomainError) as exc:
        request(recipient, actor, dt.date(2025, 3, 10), dt.date(2025, 4, 5))
    assert exc.value.code == "period_closed"
    assert "month" in exc.value.message.lower()
    assert "from 2025-03-01 to 2025-03-31" in exc.value.message
