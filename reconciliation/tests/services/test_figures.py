"""Per-period figures and the money self-check per recipient (through the payouts services)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from exceptionqueue.models import ExceptionCase
from payouts import services as payouts
from payouts.models import PayoutLine
from payouts.tests.factories import paid, refund, today
from reconciliation.services import reconciliation_run

pytestmark = pytest.mark.postgres


@pytest.fixture
def paid_out(organization, branch, actor):
    """Two QR payments of one day, paid out, then one refunded after the payout (carried)."""
    recipient = payouts.recipient_create(
        organization=organization, scope="team", name="Cascade team", branch=branch, actor=actor
    )
    qr = payouts.qr_code_create(recipient=recipient, actor=actor)
    day = today(organization) - dt.timedelta(days=1)
    first = paid(qr, "1000.00", day=day)
    paid(qr, "500.00", day=day)
    payout = payouts.payout_request(
        recipient=recipient, currency="AMD", period_start=day, period_end=day, actor=actor
    )
    payouts.payout_process(payout=payout, actor=actor)
    payouts.payout_complete(payout=payout, actor=actor, method="bank", reference="TR-1")
    refund(first, "200.00")
    return {"day": day, "payout": payout, "first": first, "recipient": recipient}


def _drift_cases(organization):
    return ExceptionCase.objects.filter(organization=organization, kind="money_drift")


def test_self_check_holds_with_a_carried_refund(organization, actor, paid_out):
    day = paid_out["day"]
    run = reconciliation_run(organization=organization, start=day, end=day, actor=actor)
    (check,) = run.figures["self_check"]
    assert check["verified"] == "1500.00"
    assert check["refunded"] == "200.00"
    assert check["paid_out"] == "1500.00"
    assert check["carried_adjustments"] == "-200.00"
    assert check["drift"] == "0.00"
    assert not _drift_cases(organization).exists()
    assert run.figures["AMD"]["verified"] == "1500.00"


def test_drift_raises_a_case_to_the_luma_and_clears(organization, actor, paid_out):
    day = paid_out["day"]
    line = PayoutLine.objects.get(payout=paid_out["payout"], payment=paid_out["first"])
    PayoutLine.objects.filter(pk=line.pk).update(amount=line.amount - Decimal("0.01"))
    reconciliation_run(organization=organization, start=day, end=day, actor=actor)
    case = _drift_cases(organization).get()
    assert case.amount == Decimal("0.01")
    assert case.blocking
    assert case.severity == "critical"
    assert "drift 0.01 AMD" in case.message
    PayoutLine.objects.filter(pk=line.pk).update(amount=line.amount)
    run = reconciliation_run(organization=organization, start=day, end=day, actor=actor)
    case.refresh_from_db()
    assert case.status == "resolved"
    assert run.exceptions_resolved == 1
