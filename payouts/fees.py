"""The payout fee rule, written once.

``fee = round_half_up(gross * percentage / 100, minor unit) + fixed``, then capped to the range
``[0, gross]`` (a payout never costs more than it carries; nothing to pay costs nothing);
``net = gross - fee``. ``gross == fee + net`` holds exactly because ``net`` is a subtraction of two
amounts already on the minor unit.
"""

from __future__ import annotations

from decimal import Decimal

from core.money import round_money


def fee_compute(
    *, gross: Decimal, currency: str, percentage: Decimal, fixed: Decimal
) -> tuple[Decimal, Decimal]:
    """Return ``(fee, net)`` for ``gross``; see the module docstring for the rule."""
    for value in (gross, percentage, fixed):
        if not isinstance(value, Decimal):
            raise TypeError("Money amounts are Decimal, never float.")
    gross = round_money(gross, currency)
    if gross < 0:
        raise ValueError("A payout's gross is never negative.")
    if gross == 0:
        return gross, gross
    fee = round_money(gross * percentage / Decimal(100), currency) + round_money(fixed, currency)
    fee = min(max(fee, Decimal(0)), gross)
    fee = round_money(fee, currency)
    return fee, gross - fee
