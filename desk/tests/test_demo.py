"""The demo month of ``make run`` looks like a month an accountant closes: money verified every
day, a refund, payouts paid out and in flight, exactly one blocker; a second seed adds nothing."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.apps import apps

from core.actors import system_actor
from core.models import AccountingPeriod, Branch
from core.services import organization_ensure
from desk.selectors import period_blockers, period_money
from exceptionqueue.models import ExceptionCase
from payments.models import Payment, Refund
from payouts.models import Payout

pytestmark = pytest.mark.django_db(transaction=True)


def _seed():
    actor = system_actor("seed-demo")
    cafe, _ = organization_ensure(slug="yerevan-cafe", name="Yerevan Cafe", actor=actor)
    for code, name in (("northern-avenue", "Northern Avenue"), ("cascade", "Cascade")):
        Branch.objects.get_or_create(organization=cafe, code=code, defaults={"name": name})
    out = io.StringIO()
    apps.get_app_config("payouts").seed_demo(stdout=out)
    apps.get_app_config("desk").seed_demo(stdout=out)
    return cafe, out.getvalue()


def test_the_demo_month_has_payouts_a_refund_and_exactly_one_blocker():
    cafe, out = _seed()
    period = AccountingPeriod.objects.filter(organization=cafe).order_by("start").first()
    money = period_money(period)["AMD"]
    assert money["verified"] > Decimal("100000"), out
    assert money["refunded"] == Decimal("1000.00")
    assert money["paid_out"] > 0
    assert money["fees"] > 0
    assert money["in_flight"] > 0
    in_flight = Payout.objects.filter(organization=cafe, status="processing").filter(
        created_at__date__gte=period.start, created_at__date__lte=period.end
    )
    assert in_flight.count() == 2
    # The nightly bank check (as the worker runs it days later) finds every completed payout
    # of the month in the demo's bank statement: still exactly one blocker. (A payout the
    # payouts demo completed today, after the month, may be found without a bank line: early
    # in a month "today" is inside the check's window.)
    from reconciliation.services import bank_payouts_check

    later = period.end + dt.timedelta(days=10)
    bank_payouts_check(organization=cafe, today=later, actor=system_actor("t"))
    unbanked = ExceptionCase.objects.filter(
        organization=cafe, kind="payout_without_bank_line", period_start__lte=period.end
    )
    assert not unbanked.exists(), [c.message for c in unbanked]
    # The month to close has ended (any day of this month, the 1st included): once its case is
    # resolved it closes; this month, also opened, does not close yet.
    from reconciliation.services import accounting_period_not_ended

    assert accounting_period_not_ended(period=period) is None
    current = AccountingPeriod.objects.filter(organization=cafe).order_by("start").last()
    assert current.start == period.end + dt.timedelta(days=1)
    assert accounting_period_not_ended(period=current)["kind"] == "period_not_ended"
    blockers = period_blockers(period)
    assert len(blockers) == 1
    assert blockers[0]["case"].kind == "missing_in_provider_report"
    # The page says no report covers the month: the case does not claim one was imported.
    from reconciliation.models import ProviderReport

    assert not ProviderReport.objects.filter(organization=cafe).exists()
    assert "no provider report is imported" in blockers[0]["case"].message
    # Every day of the month has money verified.
    days = {
        p.verified_at.astimezone(cafe.tz).date()
        for p in Payment.objects.filter(
            organization=cafe, status__in=["verified", "partially_refunded"]
        )
    }
    assert all(
        period.start + dt.timedelta(days=i) in days
        for i in range((period.end - period.start).days + 1)
    )

    # ... each paid at the sandbox gateway (its order id as the reference), its order opened a
    # couple of minutes before.
    from payments.models import SandboxOrder

    tips = Payment.objects.filter(organization=cafe, status="verified", qr_payment__isnull=False)
    for tip in tips:
        assert SandboxOrder.objects.filter(
            order_id=tip.provider_reference, order_number=tip.order_number, order_status=2
        ).exists(), tip.pk
        taken = tip.verified_at - tip.created_at
        assert dt.timedelta(minutes=1) <= taken <= dt.timedelta(minutes=4), tip.pk

    counts = (Payment.objects.count(), Payout.objects.count(), Refund.objects.count())
    cases = ExceptionCase.objects.count()
    _seed()  # idempotent
    assert (Payment.objects.count(), Payout.objects.count(), Refund.objects.count()) == counts
    assert ExceptionCase.objects.count() == cases
    assert period_money(period)["AMD"] == money


@pytest.mark.parametrize(
    ("week", "expected"),
    [
        # The payouts demo's closed week reaches into the month's first days, or its last ones.
        (
            (dt.date(2026, 9, 28), dt.date(2026, 10, 4)),
            (dt.date(2026, 10, 5), dt.date(2026, 10, 31)),
        ),
        (
            (dt.date(2026, 10, 26), dt.date(2026, 11, 1)),
            (dt.date(2026, 10, 1), dt.date(2026, 10, 25)),
        ),
        (None, (dt.date(2026, 10, 1), dt.date(2026, 10, 31))),
    ],
)
def test_the_month_payouts_avoid_a_payout_period_reaching_into_the_month(
    organization, week, expected
):
    """Whatever today is, the demo month's payouts and tips never fall in a closed payout
    period (a payout request there is refused; a payment there would be a late case)."""
    from desk.demo import _free_range
    from payouts.models import PayoutPeriod
    from payouts.services import period_create

    actor = system_actor("tests")
    from reconciliation.services import accounting_period_month

    period = accounting_period_month(
        organization=organization, day=dt.date(2026, 10, 15), actor=actor
    )
    if week:
        period_create(
            organization=organization,
            kind=PayoutPeriod.Kind.WEEK,
            start_date=week[0],
            end_date=week[1],
            actor=actor,
        )
    assert _free_range(period) == expected


def test_a_fresh_database_beside_an_old_login_file_prints_a_login_that_works(tmp_path, monkeypatch):
    """``make run`` after the database alone was removed: the printed login must sign in."""
    from django.contrib.auth import authenticate

    from desk import demo

    stale = tmp_path / "demo-accountant.txt"
    stale.write_text("accountant password-of-an-older-database\n")
    monkeypatch.setattr(demo, "LOGIN_FILE", stale)
    actor = system_actor("seed-demo")
    cafe, _ = organization_ensure(slug="yerevan-cafe", name="Yerevan Cafe", actor=actor)
    out = io.StringIO()
    demo._login(cafe, actor, out)
    username, password = stale.read_text().split()
    assert password != "password-of-an-older-database"
    assert f"login accountant / {password}" in out.getvalue()
    assert authenticate(username=username, password=password) is not None
    # A second seed keeps that login and says the same.
    again = io.StringIO()
    demo._login(cafe, actor, again)
    assert stale.read_text().split() == [username, password]
    assert authenticate(username=username, password=password) is not None
