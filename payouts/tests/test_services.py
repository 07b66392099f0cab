from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest

from core.errors import DomainError
from exceptionqueue.models import ExceptionCase
from payouts import services
from payouts.fees import fee_compute
from payouts.models import (
    Payout,
    PayoutAdjustment,
    PayoutAdjustmentVoid,
    PayoutEvent,
    PayoutLine,
    PayoutPeriod,
)
from payouts.tests.factories import paid, refund, today

D = Decimal


def request(recipient, actor, start, end=None, currency="AMD"):
    return services.payout_request(
        recipient=recipient,
        currency=currency,
        period_start=start,
        period_end=end or start,
        actor=actor,
    )


# --- fees and rounding ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gross", "pct", "fixed", "fee"),
    [
        ("1000.00", "2.5", "0", "25.00"),
        ("0.20", "2.5", "0", "0.01"),  # 0.005 rounds half up
        ("0.19", "2.5", "0", "0.00"),  # 0.00475 -> 0.00
        ("100.00", "1.5", "100", "100.00"),  # capped at gross
        ("333.33", "3", "0.10", "10.10"),  # 9.9999 -> 10.00, + 0.10
        ("1.00", "0", "0", "0.00"),
        ("1.00", "100", "0", "1.00"),
        ("0.00", "5", "10", "0.00"),  # nothing to pay costs nothing
    ],
)
def test_fee_rule(gross, pct, fixed, fee):
    got_fee, net = fee_compute(gross=D(gross), currency="AMD", percentage=D(pct), fixed=D(fixed))
    assert got_fee == D(fee)
    assert got_fee + net == D(gross)
    assert net >= 0


def fee_oracle(gross_minor: int, pct_ten_thousandths: int, fixed_minor: int) -> int:
    """The fee rule in integer minor units, written apart from ``fee_compute`` (no Decimal):
    percentage = pct / 10,000 %, so the proportional fee is gross * pct / 1,000,000 minor units,
    rounded half up; plus fixed; capped to [0, gross]."""
    numerator, denominator = gross_minor * pct_ten_thousandths, 1_000_000
    proportional = (2 * numerator + denominator) // (2 * denominator)  # half up, non-negative
    return min(proportional + fixed_minor, gross_minor) if gross_minor else 0


def test_fee_rule_matches_an_integer_oracle_on_many_values():
    rng = random.Random(7)
    for _ in range(5000):
        gross, pct, fixed = (
            rng.randint(0, 10_000_000),
            rng.randint(0, 100_000),
            rng.choice([0, rng.randint(0, 50_000)]),
        )
        fee, net = fee_compute(
            gross=D(gross) / 100, currency="AMD", percentage=D(pct) / 10_000, fixed=D(fixed) / 100
        )
        expected = fee_oracle(gross, pct, fixed)
        assert (fee, net) == (D(expected) / 100, D(gross - expected) / 100), (gross, pct, fixed)
        assert fee.as_tuple().exponent == -2


def test_fee_oracle_half_up_edges():
    assert fee_oracle(20, 25_000, 0) == 1  # 0.20 at 2.5 % = 0.005 -> 0.01
    assert fee_oracle(19, 25_000, 0) == 0  # 0.00475 -> 0.00
    assert fee_oracle(10_000, 15_000, 10_000) == 10_000  # capped at gross


def test_fee_rule_refuses_floats_and_negative_gross():
    with pytest.raises(TypeError):
        fee_compute(gross=1.5, currency="AMD", percentage=D(1), fixed=D(0))
    with pytest.raises(ValueError, match="negative"):
        fee_compute(gross=D("-1"), currency="AMD", percentage=D(1), fixed=D(0))


# --- requests ------------------------------------------------------------------------------------


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


def test_periods_cannot_overlap_or_invert(organization, actor):
    day = dt.date(2025, 1, 1)
    services.period_create(
        organization=organization,
        kind="week",
        start_date=day,
        end_date=day + dt.timedelta(days=6),
        actor=actor,
    )
    with pytest.raises(DomainError) as exc:
        services.period_create(
            organization=organization,
            kind="shift",
            start_date=day + dt.timedelta(days=6),
            end_date=day + dt.timedelta(days=6),
            actor=actor,
        )
    assert exc.value.code == "period_overlap"
    with pytest.raises(DomainError) as exc:
        services.period_create(
            organization=organization,
            kind="shift",
            start_date=day + dt.timedelta(days=9),
            end_date=day,
            actor=actor,
        )
    assert exc.value.code == "invalid_period"


# --- transitions ---------------------------------------------------------------------------------


@pytest.fixture
def payout(organization, recipient, qr, actor):
    paid(qr, "1000.00")
    return request(recipient, actor, today(organization))


def test_transitions_write_their_audit_rows(payout, actor, django_capture_on_commit_callbacks):
    from webhooks.models import WebhookEvent

    services.payout_process(
        payout=payout,
        actor=actor,
        method="bank_transfer",
        reference="BATCH-7",
        comment="sent to the bank",
    )
    services.payout_complete(
        payout=payout, actor=actor, method="bank_transfer", reference="TRX-1", comment="confirmed"
    )
    payout.refresh_from_db()
    assert payout.status == "completed"
    assert payout.reference == "TRX-1"
    assert payout.completed_at is not None
    rows = list(
        payout.events.values_list(
            "kind", "from_status", "to_status", "method", "reference", "comment"
        )
    )
    assert rows == [
        ("requested", "", "requested", "", "", ""),
        ("processing", "requested", "processing", "bank_transfer", "BATCH-7", "sent to the bank"),
        ("completed", "processing", "completed", "bank_transfer", "TRX-1", "confirmed"),
    ]
    assert all(e.actor == actor for e in payout.events.all())
    types = sorted(
        WebhookEvent.objects.filter(organization=payout.organization)
        .filter(event_type__startswith="payout.")
        .values_list("event_type", flat=True)
    )
    assert types == ["payout.completed", "payout.processing", "payout.requested"]


def test_completion_requires_method_and_reference(payout, actor):
    services.payout_process(payout=payout, actor=actor)
    with pytest.raises(DomainError) as exc:
        services.payout_transition(payout=payout, to="completed", actor=actor, method="cash")
    assert (exc.value.code, exc.value.status_code) == ("reference_required", 400)
    assert exc.value.fields == {"reference": ["Required to complete."]}
    payout.refresh_from_db()
    assert payout.status == "processing"
    case = ExceptionCase.objects.get(kind="completed_without_reference")
    services.payout_complete(payout=payout, actor=actor, method="cash", reference="R-1")
    case.refresh_from_db()
    assert case.status == "resolved"


@pytest.mark.parametrize(
    ("path", "to"),
    [
        ([], "completed"),
        (["processing", "completed"], "processing"),
        (["cancelled"], "processing"),
        (["processing", "completed"], "cancelled"),
        (["cancelled"], "cancelled"),
    ],
)
def test_transitions_that_are_not_allowed(payout, actor, path, to):
    for step in path:
        services.payout_transition(
            payout=payout, to=step, actor=actor, method="cash", reference="R"
        )
    events = payout.events.count()
    with pytest.raises(DomainError) as exc:
        services.payout_transition(payout=payout, to=to, actor=actor, method="cash", reference="R")
    assert (exc.value.code, exc.value.status_code) == ("transition_not_allowed", 409)
    assert payout.events.count() == events


def test_reversal_is_a_separate_correction(payout, actor):
    services.payout_process(payout=payout, actor=actor)
    services.payout_complete(payout=payout, actor=actor, method="cash", reference="R-1")
    with pytest.raises(DomainError):
        services.payout_reverse(payout=payout, actor=actor, reference="", comment="")
    services.payout_reverse(
        payout=payout, actor=actor, reference="BOUNCE-1", comment="bank returned the transfer"
    )
    payout.refresh_from_db()
    assert payout.status == "reversed"
    assert payout.reversal.reference == "BOUNCE-1"
    assert not payout.lines.filter(active=True).exists()


# --- refund drift and carried adjustments --------------------------------------------------------


def test_refund_while_requested_recalculates_and_is_listed(organization, recipient, qr, actor):
    services.fee_policy_set(
        organization=organization, currency="AMD", percentage=D("10"), fixed=D("0"), actor=actor
    )
    p1 = paid(qr, "1000.00")
    paid(qr, "500.00")
    payout = request(recipient, actor, today(organization))
    assert (payout.gross, payout.fee, payout.net) == (D("1500.00"), D("150.00"), D("1350.00"))
    refund(p1, "300.00")
    payout.refresh_from_db()
    assert (payout.gross, payout.fee, payout.net) == (D("1200.00"), D("120.00"), D("1080.00"))
    assert payout.gross == payout.fee + payout.net
    line = payout.lines.get(kind=PayoutLine.Kind.REFUND)
    assert (line.payment_id, line.amount) == (p1.pk, D("-300.00"))
    assert payout.events.last().kind == "recalculated"
    case = ExceptionCase.objects.get(kind="refund_drift")
    assert case.subject_id == str(payout.pk)
    assert case.amount == D("300.00")


def test_refund_while_processing_blocks_completion_until_decided(
    organization, recipient, qr, actor
):
    p1 = paid(qr, "1000.00")
    payout = request(recipient, actor, today(organization))
    services.payout_process(payout=payout, actor=actor)
    refund(p1, "250.00")
    payout.refresh_from_db()
    assert payout.drift_hold
    assert payout.gross == D("1000.00")
    with pytest.raises(DomainError) as exc:
        services.payout_complete(payout=payout, actor=actor, method="cash", reference="R")
    assert exc.value.code == "refund_drift_unresolved"
    services.payout_drift_decide(
        payout=payout, decision="recalculate", actor=actor, comment="pay the remainder"
    )
    payout.refresh_from_db()
    assert not payout.drift_hold
    assert payout.gross == D("750.00")
    assert payout.net == D("750.00")
    assert ExceptionCase.objects.get(kind="refund_drift").status == "resolved"
    services.payout_complete(payout=payout, actor=actor, method="cash", reference="R")


def test_processing_drift_can_be_carried(organization, recipient, qr, actor):
    p1 = paid(qr, "1000.00")
    payout = request(recipient, actor, today(organization))
    services.payout_process(payout=payout, actor=actor)
    refund(p1, "250.00")
    services.payout_drift_decide(payout=payout, decision="carry", actor=actor)
    payout.refresh_from_db()
    assert payout.gross == D("1000.00")
    assert not payout.drift_hold
    adjustment = PayoutAdjustment.objects.get()
    assert (adjustment.amount, adjustment.source_payout_id) == (D("-250.00"), payout.pk)


def test_refund_after_completion_is_carried_to_the_next_payout(organization, recipient, qr, actor):
    day = today(organization)
    p1 = paid(qr, "1000.00", day=day - dt.timedelta(days=2))
    first = request(recipient, actor, day - dt.timedelta(days=2))
    services.payout_process(payout=first, actor=actor)
    services.payout_complete(payout=first, actor=actor, method="cash", reference="R-1")
    refund(p1, "400.00")
    first.refresh_from_db()
    assert (first.status, first.gross, first.net) == ("completed", D("1000.00"), D("1000.00"))
    assert first.events.last().kind == "adjustment_carried"
    adjustment = PayoutAdjustment.objects.get()
    assert adjustment.amount == D("-400.00")
    assert adjustment.actor is not None

    paid(qr, "300.00", day=day)  # not enough to absorb the adjustment: it waits
    second = request(recipient, actor, day)
    assert second.gross == D("300.00")
    services.payout_cancel(payout=second, actor=actor)
    paid(qr, "500.00", day=day)
    third = request(recipient, actor, day)
    assert (third.gross, third.net, third.payment_count) == (D("400.00"), D("400.00"), 2)
    line = third.lines.get(kind=PayoutLine.Kind.ADJUSTMENT)
    assert (line.adjustment_id, line.amount) == (adjustment.pk, D("-400.00"))


# --- the set-based build --------------------------------------------------------------------------


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
    ours = [
        q["sql"]
        for q in ctx.captured_queries
        if "webhooks_" not in q["sql"] and "SAVEPOINT" not in q["sql"]
    ]
    assert len(ours) <= 16, ours
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


# --- carried refunds when their source payout is released (C1) ---------------------------------


def _processing_with_carried_refund(recipient, actor, day, amount="1000.00", refunded="400.00"):
    qr = services.qr_code_create(recipient=recipient, actor=actor)
    payment = paid(qr, amount, day=day)
    payout = request(recipient, actor, day)
    services.payout_process(payout=payout, actor=actor)
    refund(payment, refunded)  # drift while processing -> hold
    services.payout_drift_decide(payout=payout, decision="carry", actor=actor)
    return payout, payment


def test_carry_then_cancel_voids_the_carried_refund(organization, recipient, actor):
    day = today(organization)
    payout, _ = _processing_with_carried_refund(recipient, actor, day)
    adjustment = PayoutAdjustment.objects.get(source_payout=payout)
    services.payout_cancel(payout=payout, actor=actor, comment="paid by mistake")
    # The payment is free again with 600.00 left: the recipient is owed exactly 600.00.
    again = request(recipient, actor, day)
    assert again.gross == D("600.00")
    assert not again.lines.filter(kind="adjustment").exists()
    void = PayoutAdjustmentVoid.objects.get(adjustment=adjustment)
    assert (void.payout_id, void.comment) == (payout.pk, "paid by mistake")
    adjustment.refresh_from_db()
    assert adjustment.amount == D("-400.00")  # the old row is never edited
    event = payout.events.get(kind="adjustments_voided")
    assert event.details["adjustments"] == [adjustment.pk]
    assert event.details["amounts"] == ["-400.00"]


def test_cancel_is_refused_while_its_carried_refund_is_deducted_elsewhere(
    organization, recipient, actor
):
    day = today(organization)
    payout, _ = _processing_with_carried_refund(recipient, actor, day - dt.timedelta(days=1))
    qr = recipient.qr_codes.first()
    paid(qr, "500.00", day=day)
    other = request(recipient, actor, day)  # applies the carried -400.00
    assert other.gross == D("100.00")
    with pytest.raises(DomainError) as exc:
        services.payout_cancel(payout=payout, actor=actor)
    assert (exc.value.code, exc.value.status_code) == ("carried_adjustment_applied", 409)
    assert Payout.objects.get(pk=payout.pk).status == "processing"
    # Cancel the payout that deducted it first: the adjustment is pending again, then voided.
    services.payout_cancel(payout=other, actor=actor)
    services.payout_cancel(payout=payout, actor=actor)
    total = request(recipient, actor, day - dt.timedelta(days=1), day)
    assert total.gross == D("1100.00")  # 600.00 left of the refunded payment + 500.00


def test_reversal_voids_the_refunds_carried_from_it(organization, recipient, qr, actor):
    day = today(organization)
    payment = paid(qr, "1000.00", day=day)
    payout = request(recipient, actor, day)
    services.payout_process(payout=payout, actor=actor)
    services.payout_complete(payout=payout, actor=actor, method="bank", reference="T-1")
    refund(payment, "400.00")  # after completion: carried
    adjustment = PayoutAdjustment.objects.get(source_payout=payout)
    services.payout_reverse(payout=payout, actor=actor, reference="BOUNCED-1", comment="bounced")
    assert PayoutAdjustmentVoid.objects.filter(adjustment=adjustment).exists()
    assert request(recipient, actor, day).gross == D("600.00")


def test_recalculation_records_the_adjustments_it_releases(organization, recipient, qr, actor):
    day = today(organization)
    first = paid(qr, "1000.00", day=day - dt.timedelta(days=1))
    completed = request(recipient, actor, day - dt.timedelta(days=1))
    services.payout_process(payout=completed, actor=actor)
    services.payout_complete(payout=completed, actor=actor, method="bank", reference="T-1")
    refund(first, "300.00")
    adjustment = PayoutAdjustment.objects.get()
    second = paid(qr, "400.00", day=day)
    payout = request(recipient, actor, day)
    assert payout.gross == D("100.00")  # 400.00 - 300.00 carried
    refund(second, "350.00")  # 50.00 left: the -300.00 no longer fits
    payout.refresh_from_db()
    assert payout.gross == D("50.00")
    event = payout.events.get(kind="recalculated")
    assert event.details["adjustments_released"] == [adjustment.pk]
    assert services._pending_adjustments(organization=organization).get() == adjustment


# --- late payments in a closed, built period (I4) ------------------------------------------------


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


# --- real-provider QR payments -------------------------------------------------------------------


def test_qr_checkout_uses_the_organisations_gateway(organization, recipient, qr, actor):
    from payments.models import Payment, ProviderAccount
    from payments.providers.base import OrderCreated

    class Gateway:
        def create_order(self, request):
            self.request = request
            return OrderCreated(provider_reference="ARCA-1", payment_url="https://arca.test/pay/1")

    ProviderAccount.objects.create(organization=organization, provider="arca", merchant_id="m")
    gateway = Gateway()
    payment = services.qr_checkout_start(
        qr_code=qr, amount=D("2000.00"), currency="AMD", actor=actor, adapter=gateway
    )
    assert (payment.provider, payment.status, payment.payment_url) == (
        "arca",
        "pending",
        "https://arca.test/pay/1",
    )
    assert gateway.request.amount == D("2000.00")
    assert Payment.objects.get(pk=payment.pk).qr_payment.recipient_id == recipient.pk
    ProviderAccount.objects.create(organization=organization, provider="ameria", merchant_id="m")
    with pytest.raises(DomainError) as exc:
        services.qr_checkout_start(qr_code=qr, amount=D("1.00"), currency="AMD", actor=actor)
    assert exc.value.code == "provider_required"
