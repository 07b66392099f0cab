"""Refund drift and carried refunds (payouts.services.drift)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from core.errors import DomainError
from exceptionqueue.models import ExceptionCase
from payouts import selectors, services
from payouts.models import (
    Payout,
    PayoutAdjustment,
    PayoutAdjustmentVoid,
    PayoutLine,
)
from payouts.tests.factories import paid, refund, request, today

D = Decimal


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
    assert selectors.pending_adjustments(organization=organization).get() == adjustment


def test_a_held_drift_case_is_resolved_by_the_decision_not_by_a_plain_resolve(
    organization, recipient, qr, actor
):
    """Issue 9: resolving a ``refund_drift`` case with a note left the payout held and the period
    closable. The queue refuses to close it by hand and points to the decision, which does."""
    from exceptionqueue.selectors import exception_blocking_exists
    from exceptionqueue.services import exception_dismiss, exception_resolve

    day = today(organization)
    p1 = paid(qr, "1000.00")
    payout = request(recipient, actor, day)
    services.payout_process(payout=payout, actor=actor)
    refund(p1, "250.00")
    case = ExceptionCase.objects.get(kind="refund_drift")
    for close in (exception_resolve, exception_dismiss):
        with pytest.raises(DomainError) as exc:
            close(case=case, actor=actor, note="looked at it")
        assert (exc.value.code, exc.value.status_code) == ("decided_by_drift_decision", 409)
        assert f"payouts/{payout.pk}/drift-decisions/" in exc.value.message
    case.refresh_from_db()
    payout.refresh_from_db()
    assert (case.status, payout.drift_hold) == ("open", True)
    assert exception_blocking_exists(organization=organization, start=day, end=day)
    services.payout_drift_decide(payout=payout, decision="carry", actor=actor, comment="paid")
    case.refresh_from_db()
    assert case.status == "resolved"
    assert case.auto_resolved


def test_a_recalculated_drift_case_can_be_resolved_by_a_person(organization, recipient, qr, actor):
    """A requested payout was recalculated: nothing waits on a decision, so a note closes it."""
    from exceptionqueue.services import exception_resolve

    p1 = paid(qr, "1000.00")
    request(recipient, actor, today(organization))
    refund(p1, "250.00")
    case = ExceptionCase.objects.get(kind="refund_drift")
    assert exception_resolve(case=case, actor=actor, note="seen").status == "resolved"


def test_cancelling_a_held_payout_releases_its_hold(organization, recipient, qr, actor):
    """Found by the money properties (tests/reliability/test_money_properties.py): a processing
    payout held by refund drift kept ``drift_hold`` once cancelled, a hold with nothing left to
    decide."""
    payment = paid(qr, "1000.00")
    payout = request(recipient, actor, today(organization))
    services.payout_process(payout=payout, actor=actor)
    refund(payment, "1000.00")
    payout.refresh_from_db()
    assert payout.drift_hold
    services.payout_cancel(payout=payout, actor=actor, comment="refunded in full")
    payout.refresh_from_db()
    assert (payout.status, payout.drift_hold) == ("cancelled", False)
    assert payout.events.get(kind="cancelled").details["drift_hold_released"] is True
