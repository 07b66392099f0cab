from __future__ import annotations

from decimal import Decimal

import pytest

from appointments import services
from core.errors import DomainError

pytestmark = pytest.mark.django_db


def test_policy_share_by_outcome(paid_request, actor):
    early, _ = paid_request(days=3, external_ref="a")
    _, path = services.appointment_cancel(appointment=early, reason="r", by="customer", actor=actor)
    assert (path["refundable_amount"], path["within_window"]) == ("10000.00", False)

    late, _ = paid_request(days=0.25, external_ref="b")
    _, path = services.appointment_cancel(appointment=late, reason="r", by="customer", actor=actor)
    assert (path["refundable_amount"], path["within_window"]) == ("5000.00", True)

    by_clinic, _ = paid_request(days=0.25, external_ref="c")
    _, path = services.appointment_cancel(
        appointment=by_clinic, reason="r", by="clinic", actor=actor
    )
    assert path["refundable_amount"] == "10000.00"

    missed, _ = paid_request(external_ref="d")
    missed = services.appointment_no_show(appointment=missed, actor=actor)
    assert services.refund_path(missed)["refundable_amount"] == "0.00"

    done, _ = paid_request(external_ref="e")
    done = services.appointment_complete(appointment=done, actor=actor)
    assert services.refund_path(done)["refundable_amount"] == "0.00"


def test_refund_within_policy_then_nothing_left(paid_request, actor):
    appointment, request = paid_request(days=0.25)
    appointment, _ = services.appointment_cancel(
        appointment=appointment, reason="r", by="customer", actor=actor
    )
    refund = services.appointment_refund(
        appointment=appointment, amount=Decimal("5000.00"), reason="policy", actor=actor
    )
    assert refund.status == "succeeded"
    request.refresh_from_db()
    assert request.status == "partially_refunded"
    assert services.refund_path(appointment)["refundable_amount"] == "0.00"
    with pytest.raises(DomainError) as more:
        services.appointment_refund(
            appointment=appointment, amount=Decimal("1.00"), reason="more", actor=actor
        )
    assert more.value.code == "refund_outside_policy"


def test_refund_needs_a_reason_and_money(book, actor):
    appointment = book()
    with pytest.raises(DomainError) as nothing:
        services.appointment_refund(
            appointment=appointment, amount=Decimal("1.00"), reason="x", actor=actor
        )
    assert nothing.value.code == "nothing_paid"
    with pytest.raises(DomainError) as reason:
        services.appointment_refund(
            appointment=appointment, amount=Decimal("1.00"), reason=" ", actor=actor
        )
    assert reason.value.code == "reason_required"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_refunds_at_once_never_exceed_the_policy_share(paid_request, actor):
    from conftest import run_together
    from payments.models import Refund

    appointment, request = paid_request(days=0.25)  # inside the window: 50 % = 5000.00
    appointment, _ = services.appointment_cancel(
        appointment=appointment, reason="r", by="customer", actor=actor
    )

    def refund():
        return services.appointment_refund(
            appointment=appointment, amount=Decimal("3000.00"), reason="policy", actor=actor
        )

    outcomes = run_together(refund, refund)
    winners = [o for o in outcomes if isinstance(o, Refund)]
    losers = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(winners) == 1, outcomes
    assert [e.code for e in losers] == ["refund_outside_policy"]
    request.refresh_from_db()
    assert request.payment.refunded_amount == Decimal("3000.00")


def test_refund_path_splits_by_currency(organization, book, actor):
    """Two requests of one appointment in two currencies: each currency's refundable amount,
    never their sum."""
    from payments.services import sandbox_pay

    appointment = book()
    for kind, amount, currency in (("deposit", "10000.00", "AMD"), ("prepayment", "50.00", "USD")):
        request = services.payment_request_create(
            appointment=appointment,
            kind=kind,
            amount=Decimal(amount),
            currency=currency,
            expires_in_minutes=60,
            actor=actor,
        )
        sandbox_pay(payment=request.payment, outcome="approved", actor=actor)
    path = services.refund_path(appointment)
    assert path["refundable_by_currency"] == [
        {"currency": "AMD", "refundable_amount": "10000.00"},
        {"currency": "USD", "refundable_amount": "50.00"},
    ]
    assert (path["currency"], path["refundable_amount"]) == ("AMD", "10000.00")
