from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

from core.models import Branch, Organization
from payouts import services, tasks
from payouts.models import Payout, PayoutPeriod, QrPayment, Recipient
from payouts.tests.factories import paid, today


def test_build_task_takes_an_id_and_runs_once(organization, recipient, qr, actor):
    day = today(organization) - dt.timedelta(days=20)
    paid(qr, "120.00", day=day)
    period = services.period_create(
        organization=organization, kind="shift", start_date=day, end_date=day, actor=actor
    )
    assert tasks.payout_period_build_task.run(period.pk) == 0  # open: nothing to build
    services.period_transition(period=period, to="closed", actor=actor)
    assert tasks.payout_period_build_task.run(period.pk) == 1
    assert tasks.payout_period_build_task.run(period.pk) == 0
    assert tasks.build_closed_periods.run() == 0
    payout = Payout.objects.get()
    assert (payout.gross, payout.accounting_period_id) == (Decimal("120.00"), period.pk)
    assert payout.events.get().actor.username == "system.payout-build"


def test_closing_a_period_queues_its_build(organization, actor, django_capture_on_commit_callbacks):
    from unittest import mock

    period = services.period_create(
        organization=organization,
        kind="week",
        start_date=dt.date(2025, 2, 3),
        end_date=dt.date(2025, 2, 9),
        actor=actor,
    )
    with (
        mock.patch.object(tasks.payout_period_build_task, "apply_async") as queued,
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.period_transition(period=period, to="closed", actor=actor)
    queued.assert_called_once()
    assert queued.call_args.args[0] == (period.pk,)
    assert PayoutPeriod.objects.get().status == "closed"


def test_demo_seed_is_idempotent(db):
    from payouts.demo import seed_demo

    organization = Organization.objects.create(slug="yerevan-cafe", name="Yerevan Cafe")
    for code in ("northern-avenue", "cascade"):
        Branch.objects.create(organization=organization, code=code, name=code)
    seed_demo(stdout=io.StringIO())
    counts = (Recipient.objects.count(), QrPayment.objects.count(), Payout.objects.count())
    assert counts[0] == 6
    assert counts[1] > 100
    assert Payout.objects.filter(status="completed").count() == 1
    seed_demo(stdout=io.StringIO())
    assert (Recipient.objects.count(), QrPayment.objects.count(), Payout.objects.count()) == counts


def test_sweeper_builds_the_other_periods_when_one_fails(organization, recipient, qr, actor):
    from unittest import mock

    from exceptionqueue.models import ExceptionCase

    days = [today(organization) - dt.timedelta(days=n) for n in (10, 9)]
    periods = []
    for day in days:
        paid(qr, "50.00", day=day)
        period = services.period_create(
            organization=organization, kind="shift", start_date=day, end_date=day, actor=actor
        )
        services.period_transition(period=period, to="closed", actor=actor)
        periods.append(period)
    real_build = services.payout_period_build

    def build(*, period, actor):
        if period.pk == periods[0].pk:
            raise RuntimeError("disk full")
        return real_build(period=period, actor=actor)

    with mock.patch.object(services, "payout_period_build", side_effect=build):
        assert tasks.build_closed_periods.run() == 1
    assert Payout.objects.get().accounting_period_id == periods[1].pk
    case = ExceptionCase.objects.get(kind=services.PERIOD_BUILD_FAILED)
    assert "disk full" in case.message
    assert tasks.build_closed_periods.run() == 1  # retried on the next run
    assert Payout.objects.count() == 2
    case.refresh_from_db()
    assert case.status == ExceptionCase.Status.RESOLVED  # cleared once the build succeeded


def test_sweeper_builds_late_payments_of_built_periods(organization, recipient, qr, actor):
    day = today(organization) - dt.timedelta(days=5)
    first = paid(qr, "50.00", day=day)
    period = services.period_create(
        organization=organization, kind="shift", start_date=day, end_date=day, actor=actor
    )
    services.period_transition(period=period, to="closed", actor=actor)
    assert tasks.build_closed_periods.run() == 1
    payout = Payout.objects.get()
    services.payout_cancel(payout=payout, actor=actor, comment="wrong account")
    late = paid(qr, "30.00", day=day)
    assert tasks.build_closed_periods.run() == 1
    follow_up = Payout.objects.get(status="requested")
    assert set(follow_up.lines.values_list("payment_id", flat=True)) == {first.pk, late.pk}
    assert tasks.build_closed_periods.run() == 0
