"""Races on PostgreSQL with real threads: exactly one winner."""

from __future__ import annotations

import datetime as dt
import io
import threading
import time
from decimal import Decimal

import pytest

from conftest import run_together
from core.actors import system_actor
from core.errors import DomainError
from core.models import AccountingPeriod
from reconciliation.models import AccountingPeriodEvent, ProviderReport
from reconciliation.services import (
    accounting_period_close,
    accounting_period_create,
    provider_report_import,
)
from reconciliation.tests.factories import report_bytes

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_closes_at_once_close_once(organization):
    actor = system_actor("tests")
    period = accounting_period_create(
        organization=organization,
        start=dt.date(2026, 10, 1),
        end=dt.date(2026, 10, 31),
        actor=actor,
    )
    outcomes = run_together(
        lambda: accounting_period_close(period=period.pk, actor=actor),
        lambda: accounting_period_close(period=period.pk, actor=actor),
    )
    winners = [o for o in outcomes if isinstance(o, AccountingPeriod)]
    losers = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(winners) == 1
    assert [e.code for e in losers] == ["transition_not_allowed"]
    assert AccountingPeriodEvent.objects.filter(period=period, action="closed").count() == 1


def test_the_same_file_imported_twice_at_once_is_imported_once(organization):
    actor = system_actor("tests")
    rows = [
        {
            "order_number": f"PO{i}",
            "amount": "10.00",
            "currency": "AMD",
            "status": "paid",
            "paid_at": "2026-10-05T12:00:00+04:00",
        }
        for i in range(2000)
    ]
    data = report_bytes(rows)

    def load():
        return provider_report_import(
            organization=organization, provider="arca", file=io.BytesIO(data), actor=actor
        )

    outcomes = run_together(load, load)
    assert sum(isinstance(o, ProviderReport) for o in outcomes) == 1
    assert [o.code for o in outcomes if isinstance(o, DomainError)] == ["report_already_imported"]
    assert ProviderReport.objects.get().rows.count() == 2000


# --- a change dated in the period against its close (issue 12: never a change in a closed one) ---


@pytest.fixture
def close_after_midnight(monkeypatch):
    """The race at midnight: the change is dated today (real time, the month still running), the
    close reads today as the day after the month's last day, so the month has ended and may
    close. Only the close's reading of the clock moves: the organisation's test clock would move
    the change's date out of the month as well."""
    from core.clock import clock_today
    from reconciliation.services import periods

    def day_after_the_month(organization):
        return periods.month_bounds(clock_today(organization))[1] + dt.timedelta(days=1)

    monkeypatch.setattr(periods, "clock_today", day_after_the_month)


def _blocked_or_done(done: threading.Event, timeout: float = 20) -> None:
    """From inside the change's transaction: return once another session of this database waits
    on a lock (the close, behind ours) or ``done`` is set (the close went through at once)."""
    from django.db import connection

    deadline = time.monotonic() + timeout
    while not done.is_set() and time.monotonic() < deadline:
        with connection.cursor() as cursor:
            # Inside a transaction PostgreSQL keeps its first snapshot of the statistics.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return
        done.wait(0.05)


def _pausing_change(paused: threading.Event, done: threading.Event):
    """A payments listener that holds the change's transaction (after its guard) until the close
    is waiting behind it or has finished."""

    def listener(change):
        paused.set()
        _blocked_or_done(done)

    return listener


def _close_after(paused: threading.Event, done: threading.Event, close):
    def run():
        assert paused.wait(20)
        try:
            return close()
        finally:
            done.set()

    return run


def _closed_figures_hold(period) -> dict:
    from reconciliation.services import local_bounds
    from reconciliation.services.figures import period_figures

    period.refresh_from_db()
    lo, hi = local_bounds(period.organization, period.start, period.end)
    now = period_figures(
        organization_id=period.organization_id, lo=lo, hi=hi, start=period.start, end=period.end
    )
    recorded = AccountingPeriodEvent.objects.get(period=period, action="closed").data["figures"]
    assert now == recorded
    return now


def _this_month(organization):
    from django.utils import timezone

    from reconciliation.services import accounting_period_month

    today = timezone.localtime(timezone.now(), organization.tz).date()
    return accounting_period_month(organization=organization, day=today, actor=system_actor("t"))


def _pending_payment(organization, branch, amount="900.00"):
    from payments.tests.factories import make_payment

    return make_payment(organization=organization, branch=branch, amount=amount)


def _verify(payment):
    from payments.models import Payment
    from payments.services import payment_verify_manually

    return payment_verify_manually(
        payment=Payment.objects.get(pk=payment.pk),
        actor=system_actor("tests"),
        comment="seen in the bank",
        reference="B-1",
    )


@pytest.mark.usefixtures("close_after_midnight")
@pytest.mark.parametrize("period_exists", [True, False], ids=["period", "no-period-yet"])
def test_a_verification_checked_before_the_close_lands_before_it(
    organization, branch, period_exists
):
    """The verification passed its guard and is still writing when the close starts: the close
    waits for it (its figures count it) — before the fix it closed at once and the payment was
    verified inside the closed period afterwards. Without a period yet, creating it waits too."""
    from payments import hooks
    from payments.models import Payment

    actor = system_actor("tests")
    payment = _pending_payment(organization, branch)
    period = _this_month(organization) if period_exists else None
    paused, done = threading.Event(), threading.Event()
    listener = hooks.subscribe(_pausing_change(paused, done))

    def close():
        target = period or _this_month(organization)
        return accounting_period_close(period=target.pk, actor=actor)

    try:
        verified, closed = run_together(lambda: _verify(payment), _close_after(paused, done, close))
    finally:
        hooks.unsubscribe(listener)
    assert isinstance(verified, Payment), verified
    assert isinstance(closed, AccountingPeriod), closed
    assert verified.verified_at < closed.closed_at
    figures = _closed_figures_hold(closed)
    assert figures["AMD"]["verified"] == "900.00"


@pytest.mark.usefixtures("close_after_midnight")
def test_a_change_after_the_close_locked_the_period_is_refused(organization, branch):
    """The close holds the period (its reactions still running) when a verification asks: the
    verification waits, then is refused 409 period_closed; nothing changed."""
    from core.accounting import _reactions as reactions
    from core.accounting import register_close_reaction

    actor = system_actor("tests")
    payment = _pending_payment(organization, branch)
    period = _this_month(organization)
    paused, done = threading.Event(), threading.Event()
    register_close_reaction("tests.pause", lambda **_: (paused.set(), _blocked_or_done(done)))

    def verify():
        assert paused.wait(20)
        try:
            return _verify(payment)
        finally:
            done.set()

    try:
        closed, refused = run_together(
            lambda: accounting_period_close(period=period.pk, actor=actor), verify
        )
    finally:
        reactions.pop("tests.pause", None)
    assert isinstance(closed, AccountingPeriod), closed
    assert isinstance(refused, DomainError), refused
    assert refused.code == "period_closed"
    payment.refresh_from_db()
    assert payment.status == "pending"
    _closed_figures_hold(closed)


@pytest.mark.usefixtures("close_after_midnight")
def test_a_refund_and_the_close_at_once(organization, branch, monkeypatch):
    """A refund whose reservation passed its guard and a close racing: the reservation lands
    before the close (the close waits for it), and its success, which the gateway answers
    after the close, is booked as an adjustment in the next period: the closed period's figures
    never move. Before the fix the close went through while the reservation was being written."""
    from payments.models import Refund
    from payments.services import refunds as refund_services
    from payments.tests.factories import make_payment
    from payouts.tests.factories import refund as refund_of
    from reconciliation.models import PeriodAdjustment

    actor = system_actor("tests")
    payment = make_payment(organization=organization, branch=branch, amount="900.00", verified=True)
    period = _this_month(organization)
    paused, done = threading.Event(), threading.Event()
    lock = refund_services.payment_lock

    def pausing_lock(payment):
        # The reservation, after its guard and before it writes anything: hold it there.
        if not paused.is_set():
            paused.set()
            _blocked_or_done(done)
        return lock(payment)

    monkeypatch.setattr(refund_services, "payment_lock", pausing_lock)
    refunded, closed = run_together(
        lambda: refund_of(payment, "400.00", actor=actor),
        _close_after(paused, done, lambda: accounting_period_close(period=period.pk, actor=actor)),
    )
    assert isinstance(refunded, Refund), refunded
    assert isinstance(closed, AccountingPeriod), closed
    assert refunded.created_at < closed.closed_at  # reserved before the close
    _closed_figures_hold(closed)
    if refunded.completed_at >= closed.closed_at:
        adjustment = PeriodAdjustment.objects.get(refund=refunded)
        assert adjustment.amount == Decimal("-400.00")
        assert adjustment.booked_on > closed.end


@pytest.mark.usefixtures("close_after_midnight")
def test_refund_and_close_together_never_change_the_closed_period(organization, branch):
    """Released at once, with no pause: either the refund goes first (the close counts it or
    books it as an adjustment) or it is refused 409 period_closed."""
    from payments.models import Refund
    from payments.tests.factories import make_payment
    from payouts.tests.factories import refund as refund_of

    actor = system_actor("tests")
    payment = make_payment(organization=organization, branch=branch, amount="900.00", verified=True)
    period = _this_month(organization)
    refunded, closed = run_together(
        lambda: refund_of(payment, "400.00", actor=actor),
        lambda: accounting_period_close(period=period.pk, actor=actor),
    )
    assert isinstance(closed, AccountingPeriod), closed
    if isinstance(refunded, DomainError):
        assert refunded.code == "period_closed"
        assert not Refund.objects.exists()
    else:
        assert isinstance(refunded, Refund), refunded
        assert refunded.created_at < closed.closed_at
    _closed_figures_hold(closed)
