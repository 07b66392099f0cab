"""The fee rule (payouts.fees)."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from payouts.fees import fee_compute

D = Decimal


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
