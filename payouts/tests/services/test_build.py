"""The set-based period build (payouts.services.build)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from core.errors import DomainError
from exceptionqueue.models import ExceptionCase
from payouts import services
from payouts.models import (
    Payout,
    PayoutEvent,
    PayoutPeriod,
)
from payouts.tests.factories import paid, request, today

D = Decimal


def test_period_build_creates_one_payout_per_scope(organization, branch, recipient, qr, actor):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from webhooks.models import WebhookEvent

    day = today(organization) - dt.timedelta(days=60)
    others = []
    for i in range(5):
        r = services.recipient_create(
            organization=organization, scope="team", name=f"Team {i}", branch=branch, actor=actor
        )
        others.append((r, services.qr_code_create(recipient=r, actor=actor)))
    paid(qr, "100.00", day=day)
    paid(qr, "50.00", day=day, currency="USD")
    for i, (_r, q) in enumerate(others):
        for _ in range(i + 1):
            paid(q, "10.00", day=day + dt.timedelta(days=1))
    taken = request(recipient, actor, day)  # the first scope already has an active payout
    paid(qr, "1.00", day=day + dt.timedelta(days=2))
    period = services.period_create(
        organization=organization,
        kind="month",
        start_date=day,
        end_date=day + dt.timedelta(days=5),
        actor=actor,
    )
    period = services.period_transition(period=period, to="closed", actor=actor)
    with CaptureQueriesContext(connection) as ctx:
        built = services.payout_period_build(period=period, actor=actor)
    # Set-based: a fixed number of statements for payouts, lines, history and events; only the
    # webhook outbox (one row per transition, through webhooks.event_emit) grows per payout.
    # The batch's payments never come to Python: they are locked into a temporary table
    # (drop if left, create), the held ones deleted, the scopes summed from it.
    ours = [
        q["sql"]
        for q in ctx.captured_queries
        if "webhooks_" not in q["sql"] and "SAVEPOINT" not in q["sql"]
    ]
    # (20: the batches' read sets its transaction's work_mem first)
    assert len(ours) <= 20, ours
    assert not any('FROM "payments_payment"' in sql and "CREATE" not in sql for sql in ours[3:])
    # Issue 14: only the batches' first read joins the QR links (a batch carries each payment's
    # recipient from it), and the batch's payments are locked by one ``id = ANY(array)``.
    assert sum('"payouts_qrpayment"' in sql for sql in ours) == 1
    [create] = [sql for sql in ours if sql.startswith("CREATE TEMPORARY TABLE")]
    assert '"payments_payment"."id" = ANY(' in create
    assert sum('INSERT INTO "payouts_payout"' in sql for sql in ours) == 1
    assert len(built) == 6  # 5 teams + the USD scope of the first recipient
    rows = {
        (p.recipient_id, p.currency): (p.gross, p.payment_count)
        for p in Payout.objects.filter(accounting_period=period)
    }
    assert rows[(recipient.pk, "USD")] == (D("50.00"), 1)
    for i, (r, _q) in enumerate(others):
        assert rows[(r.pk, "AMD")] == (D(10 * (i + 1)), i + 1)
    assert (recipient.pk, "AMD") not in rows  # skipped: taken is active
    assert taken.lines.count() == 1
    assert (
        PayoutEvent.objects.filter(payout__accounting_period=period, kind="requested").count() == 6
    )
    assert Payout.history.filter(accounting_period=period).count() == 6
    assert WebhookEvent.objects.filter(event_type="payout.requested").count() == 7
    assert services.payout_period_build(period=period, actor=actor) == []  # once


def test_build_refuses_an_open_period(organization, actor):
    period = services.period_create(
        organization=organization,
        kind="week",
        start_date=dt.date(2025, 1, 1),
        end_date=dt.date(2025, 1, 7),
        actor=actor,
    )
    with pytest.raises(DomainError) as exc:
        services.payout_period_build(period=period, actor=actor)
    assert exc.value.code == "period_not_closed"
    assert PayoutPeriod.objects.get().status == "open"


def _closed_built_period(organization, actor, day):
    period = services.period_create(
        organization=organization, kind="shift", start_date=day, end_date=day, actor=actor
    )
    services.period_transition(period=period, to="closed", actor=actor)
    services.payout_period_build(period=PayoutPeriod.objects.get(pk=period.pk), actor=actor)
    return PayoutPeriod.objects.get(pk=period.pk)


def test_payment_verified_late_into_a_built_period_gets_a_follow_up_payout(
    organization, recipient, qr, actor
):
    day = today(organization) - dt.timedelta(days=3)
    paid(qr, "100.00", day=day)
    period = _closed_built_period(organization, actor, day)
    built_at = period.built_at
    first = Payout.objects.get()
    late = paid(qr, "250.00", day=day)  # verified after the build, paid that day
    with pytest.raises(DomainError) as exc:  # still the build's, not a manual request's
        request(recipient, actor, day)
    assert exc.value.code == "period_closed"
    # While the period's payout of that scope is active, the late payment waits for it.
    assert services.payout_period_build(period=period, actor=actor) == []
    services.payout_process(payout=first, actor=actor)
    services.payout_complete(payout=first, actor=actor, method="bank", reference="T-1")
    follow_up = services.payout_period_build(period=period, actor=actor)
    assert [(p.gross, p.payment_count) for p in follow_up] == [(D("250.00"), 1)]
    assert follow_up[0].lines.get().payment_id == late.pk
    assert follow_up[0].accounting_period_id == period.pk
    first.refresh_from_db()
    assert (first.gross, first.payment_count) == (D("100.00"), 1)
    period.refresh_from_db()
    assert period.built_at == built_at
    case = ExceptionCase.objects.get(kind=services.LATE_PAYMENT_IN_CLOSED_PERIOD)
    assert case.details["payouts"] == [follow_up[0].pk]
    assert case.blocking is False
    assert services.payout_period_build(period=period, actor=actor) == []  # nothing left


def test_late_verification_is_listed_and_queues_the_build(
    organization, recipient, qr, actor, django_capture_on_commit_callbacks
):
    from unittest import mock

    from payouts import tasks

    day = today(organization)
    paid(qr, "100.00")
    period = _closed_built_period(organization, actor, day)
    with (
        mock.patch.object(tasks.payout_period_build_task, "apply_async") as queued,
        django_capture_on_commit_callbacks(execute=True),
    ):
        paid(qr, "70.00")  # verified now, inside the closed and built period
    assert queued.call_args.args[0] == (period.pk,)
    case = ExceptionCase.objects.get(kind=services.LATE_PAYMENT_IN_CLOSED_PERIOD)
    assert case.amount == D("70.00")
    assert tasks.payout_period_build_task.run(period.pk) == 0  # the built payout is still active
    first = Payout.objects.get()
    services.payout_process(payout=first, actor=actor)
    with (
        mock.patch.object(tasks.payout_period_build_task, "apply_async") as queued,
        django_capture_on_commit_callbacks(execute=True),
    ):  # completing (or cancelling) a period's payout queues the build of its leftovers
        services.payout_complete(payout=first, actor=actor, method="bank", reference="T-1")
    assert queued.call_args.args[0] == (period.pk,)
    assert tasks.payout_period_build_task.run(period.pk) == 1
    assert Payout.objects.exclude(pk=first.pk).get().gross == D("70.00")


def test_built_payouts_have_history_with_their_payment_count(organization, recipient, qr, actor):
    day = today(organization) - dt.timedelta(days=2)
    paid(qr, "10.00", day=day)
    paid(qr, "20.00", day=day)
    _closed_built_period(organization, actor, day)
    payout = Payout.objects.get()
    assert payout.payment_count == 2
    assert [h.payment_count for h in payout.history.all()] == [2]
    assert payout.history.get().history_user == actor
    assert payout.events.get().details["payment_count"] == 2


def test_batches_cut_by_recipient_and_a_batch_leaves_out_payments_held_meanwhile(
    organization, branch, recipient, qr, actor
):
    """Issue 14: the build reads the eligible ids once and cuts them into batches of whole
    recipients; a batch locks its payments by id and leaves out those a holding line took after
    that read (a concurrent build's batch): here a completed payout holds the payment."""
    from payouts.services import build

    day = today(organization) - dt.timedelta(days=3)
    other = services.recipient_create(
        organization=organization, scope="team", name="Bar", branch=branch, actor=actor
    )
    first = [paid(qr, "10.00", day=day), paid(qr, "20.00", day=day)]
    second = paid(services.qr_code_create(recipient=other, actor=actor), "5.00", day=day)
    period = services.period_create(
        organization=organization, kind="shift", start_date=day, end_date=day, actor=actor
    )
    services.period_transition(period=period, to="closed", actor=actor)
    period = PayoutPeriod.objects.select_related("organization").get(pk=period.pk)
    batches = build._build_batches(period, 1)
    assert [(r, list(ids), list(owners)) for r, ids, owners in batches] == [
        ([recipient.pk], [p.pk for p in first], [recipient.pk] * 2),
        ([other.pk], [second.pk], [other.pk]),
    ]
    assert [r for r, _, _ in build._build_batches(period, 10)] == [[recipient.pk, other.pk]]
    [payout] = services.payout_period_build(period=period, actor=actor, batch_payments=1)[:1]
    services.payout_transition(payout=payout, to="processing", actor=actor)
    services.payout_transition(
        payout=payout, to="completed", method="cash", reference="R-1", actor=actor
    )
    _, scopes = build._build_select(
        period, [recipient.pk], [p.pk for p in first], [recipient.pk] * 2
    )
    assert scopes == {}


def test_database_refuses_a_second_holding_line_for_a_payment_or_an_adjustment(
    organization, recipient, qr, actor
):
    """Issue 14: ``payout_line_payment_once`` and ``payout_line_adjustment_once`` exist in the
    database (0007's ``AlterField(db_index=False)`` had dropped both; 0008 restores them)."""
    from django.db import IntegrityError, transaction

    from payouts.models import PayoutAdjustment, PayoutLine

    day = today(organization) - dt.timedelta(days=3)
    payment = paid(qr, "100.00", day=day)
    payout = request(recipient, actor, day)
    line = payout.lines.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        PayoutLine.objects.create(
            payout=payout, kind=PayoutLine.Kind.PAYMENT, payment=payment, amount=line.amount
        )
    adjustment = PayoutAdjustment.objects.create(
        organization=organization,
        recipient=recipient,
        currency="AMD",
        amount=D("-10.00"),
        source_payout=payout,
        payment=payment,
        actor=actor,
    )
    kept = PayoutLine.objects.create(
        payout=payout, kind=PayoutLine.Kind.ADJUSTMENT, adjustment=adjustment, amount=D("-10.00")
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        PayoutLine.objects.create(
            payout=payout,
            kind=PayoutLine.Kind.ADJUSTMENT,
            adjustment=adjustment,
            amount=D("-10.00"),
        )
    kept.active = False  # released, the payment and the adjustment may be held again
    kept.save(update_fields=["active"])
    PayoutLine.objects.create(
        payout=payout, kind=PayoutLine.Kind.ADJUSTMENT, adjustment=adjustment, amount=D("-10.00")
    )
