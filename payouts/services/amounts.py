"""A payout's amounts: which carried adjustments fit, gross, fee and net from its lines, and the
currencies they may be in."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Sum

from core.money import CURRENCIES, round_money
from payments.errors import PaymentError
from payouts import selectors
from payouts.fees import fee_compute
from payouts.models import Payout, PayoutLine

Line = PayoutLine.Kind


def adjustments_fit(base: Decimal, adjustments: Iterable) -> list:
    """Carried adjustments (oldest first) that fit: each applied whole while the payout keeps a
    positive gross; the others stay pending for a later payout."""
    total, chosen = base, []
    for adjustment in adjustments:
        if total + adjustment.amount > 0:
            chosen.append(adjustment)
            total += adjustment.amount
    return chosen


def payout_amounts(
    *, base: Decimal, adjustments: Iterable, currency: str, percentage: Decimal, fixed: Decimal
) -> tuple[Decimal, Decimal, Decimal]:
    """``(gross, fee, net)`` of a payout of ``base`` with the adjustments it applies."""
    gross = round_money(base + sum((a.amount for a in adjustments), Decimal(0)), currency)
    fee, net = fee_compute(gross=gross, currency=currency, percentage=percentage, fixed=fixed)
    return gross, fee, net


def payout_recompute(payout: Payout) -> list[int]:
    """Amounts from the active lines: refit carried adjustments, then the fee rule.

    Returns the ids of the carried adjustments that no longer fit (released back to pending for
    a later payout): callers record them in their event row."""
    lines = payout.lines.filter(active=True)
    base = lines.exclude(kind=Line.ADJUSTMENT).aggregate(s=Sum("amount"))["s"] or Decimal(0)
    applied = selectors.applied_adjustments(payout)
    keep = adjustments_fit(base, applied)
    kept = {a.pk for a in keep}
    dropped = [a.pk for a in applied if a.pk not in kept]
    if dropped:  # back to pending, for a later payout
        lines.filter(kind=Line.ADJUSTMENT, adjustment_id__in=dropped).update(active=False)
    payout.gross, payout.fee, payout.net = payout_amounts(
        base=base,
        adjustments=keep,
        currency=payout.currency,
        percentage=payout.fee_percentage,
        fixed=payout.fee_fixed,
    )
    payout.payment_count = lines.filter(kind=Line.PAYMENT).count()
    return dropped


def currency_check(currency: str) -> None:
    """400 ``unsupported_currency`` unless payops handles ``currency``."""
    if currency not in CURRENCIES:
        raise PaymentError.UNSUPPORTED_CURRENCY.error(
            f"Unsupported currency {currency!r}.",
            fields={"currency": ["Unsupported currency."]},
        )
