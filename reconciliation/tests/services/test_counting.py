"""One counting rule: every payment and refund counts once, in the period it is booked in.

A late refund (of a payment of a closed period) and a late payment (created in a closed period,
verified after) count in ``adjustments`` of the open period they are booked in, and in no
``verified`` or ``refunded`` figure; the closed period's figures do not move.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from reconciliation.models import AccountingPeriodEvent, PeriodAdjustment
from reconciliation.services import local_bounds
from reconciliation.services.figures import money_self_check, period_figures
from reconciliation.tests.factories import late_money

pytestmark = pytest.mark.postgres


def _figures(period):
    lo, hi = local_bounds(period.organization, period.start, period.end)
    figures = period_figures(
        organization_id=period.organization_id, lo=lo, hi=hi, start=period.start, end=period.end
    )
    return {name: Decimal(value) for name, value in figures["AMD"].items()}


def test_late_refund_and_late_payment_count_once(organization, branch):
    world = late_money(organization, branch)
    last, this = world["last"], world["this"]
    assert PeriodAdjustment.objects.filter(kind="late_refund").get().amount == Decimal("-1200.00")
    assert PeriodAdjustment.objects.filter(kind="late_payment").get().amount == Decimal("700.00")

    closed = _figures(last)
    assert (closed["verified"], closed["refunded"], closed["adjustments"]) == (
        Decimal("6000.00"),
        Decimal("100.00"),
        Decimal("0.00"),
    )
    # What the close recorded still holds: nothing later moved the closed period's figures.
    event = AccountingPeriodEvent.objects.get(period=last, action="closed")
    assert {k: Decimal(v) for k, v in event.data["figures"]["AMD"].items()} == closed

    now = _figures(this)
    assert now["verified"] == Decimal("300.00")  # not the late 700: an adjustment
    assert now["refunded"] == Decimal("50.00")  # not the late 1200: an adjustment
    assert now["adjustments"] == Decimal("-500.00")  # +700 - 1200

    total = sum(f["verified"] - f["refunded"] + f["adjustments"] for f in (closed, now))
    assert total == world["money"]
    assert closed["verified"] + now["verified"] + Decimal("700.00") == Decimal("7000.00")
    assert closed["refunded"] + now["refunded"] + Decimal("1200.00") == Decimal("1350.00")


def test_self_check_holds_with_late_money(organization, branch):
    world = late_money(organization, branch)
    for period in (world["last"], world["this"]):
        lo, hi = local_bounds(organization, period.start, period.end)
        for check in money_self_check(organization_id=organization.pk, lo=lo, hi=hi):
            assert check["drift"] == Decimal("0.00"), check
