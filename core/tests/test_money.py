import random
from decimal import Decimal

import pytest

from core import money
from core.money import Money, allocate, from_minor, parse_amount, round_money, to_minor


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("0.005", "0.01"),  # half up, not half even
        ("0.015", "0.02"),
        ("0.025", "0.03"),
        ("1.004", "1.00"),
        ("-0.005", "-0.01"),  # half away from zero
        ("1999.995", "2000.00"),
    ],
)
def test_round_money_is_half_up_to_the_minor_unit(amount, expected):
    assert round_money(Decimal(amount), "AMD") == Decimal(expected)


def test_floats_are_refused_everywhere():
    with pytest.raises(TypeError):
        round_money(0.1, "AMD")
    with pytest.raises(TypeError):
        parse_amount(0.1, "AMD")
    with pytest.raises(TypeError):
        Money(0.1, "AMD")


def test_parse_amount_refuses_more_precision_than_the_currency():
    assert parse_amount("1500", "AMD") == Decimal("1500.00")
    assert parse_amount("1500.5", "AMD") == Decimal("1500.50")
    with pytest.raises(ValueError, match="at most 2 decimal places"):
        parse_amount("1500.001", "AMD")
    with pytest.raises(ValueError, match="not a decimal"):
        parse_amount("abc", "AMD")
    with pytest.raises(ValueError, match="not a decimal"):
        parse_amount("NaN", "AMD")


def test_minor_units_round_trip_and_refuse_inexact_values():
    assert to_minor(Decimal("1500.00"), "AMD") == 150000
    assert to_minor(Decimal("0.01"), "USD") == 1
    assert from_minor(150000, "AMD") == Decimal("1500.00")
    with pytest.raises(ValueError, match="more precision"):
        to_minor(Decimal("1.005"), "AMD")


def test_currency_codes_map_both_ways():
    assert money.numeric_code("AMD") == "051"
    assert money.alpha_code("51") == "AMD"
    assert money.alpha_code(978) == "EUR"
    with pytest.raises(money.CurrencyError):
        money.numeric_code("XXX")


def test_money_refuses_mixing_currencies():
    assert Money(Decimal("1.00"), "AMD") + Money(Decimal("2.50"), "AMD") == Money(
        Decimal("3.50"), "AMD"
    )
    with pytest.raises(money.CurrencyError):
        Money(Decimal("1"), "AMD") + Money(Decimal("1"), "USD")


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [
        ("100.00", [1, 1, 1], ["33.34", "33.33", "33.33"]),
        ("0.05", [1, 1, 1], ["0.02", "0.02", "0.01"]),
        ("10.00", [3, 7], ["3.00", "7.00"]),
        ("1.00", [1, 0, 1], ["0.50", "0.00", "0.50"]),
        ("0.01", [1, 2], ["0.00", "0.01"]),
    ],
)
def test_allocate_uses_largest_remainder_and_adds_back_exactly(total, weights, expected):
    parts = allocate(Decimal(total), weights, "AMD")
    assert parts == [Decimal(e) for e in expected]
    assert sum(parts) == Decimal(total)


def test_allocate_adds_back_for_many_totals():
    for minor in range(0, 5000, 7):
        total = from_minor(minor, "AMD")
        parts = allocate(total, [Decimal("1.5"), 3, Decimal("0.25"), 7], "AMD")
        assert sum(parts) == total


def test_every_currency_has_a_bound_the_gateways_can_carry():
    from decimal import Decimal

    from core.money import CURRENCIES, check_amount_bound, max_amount, to_minor

    for currency in CURRENCIES:
        limit = max_amount(currency)
        assert to_minor(limit, currency) < 2**53
        assert check_amount_bound(limit, currency) == limit
        with pytest.raises(ValueError, match="at most"):
            check_amount_bound(limit + Decimal("0.01"), currency)
        with pytest.raises(ValueError, match="at most"):
            check_amount_bound(-limit - Decimal("0.01"), currency)


def test_allocate_adds_back_for_negative_zero_and_positive_totals():
    """Property: for any total (negative included) and any weights, the parts add back exactly,
    each part carries the total's sign, and the split of ``-t`` mirrors the split of ``t``."""
    rng = random.Random(20261130)
    for _ in range(3000):
        minor = rng.choice([0, rng.randint(-10, 10), rng.randint(-(10**12) + 1, 10**12 - 1)])
        total = from_minor(minor, "AMD")
        weights = [
            rng.choice([0, rng.randint(1, 9), Decimal(rng.randint(1, 10**6)) / 1000])
            for _ in range(rng.randint(1, 6))
        ]
        if not any(weights):
            weights[0] = 1
        parts = allocate(total, weights, "AMD")
        assert sum(parts) == total, (total, weights, parts)
        assert all(p <= 0 for p in parts) if minor < 0 else all(p >= 0 for p in parts)
        assert allocate(-total, weights, "AMD") == [-p for p in parts]


def test_allocate_negative_total_example():
    assert allocate(Decimal("-10.00"), [1, 1, 1], "AMD") == [
        Decimal("-3.34"),
        Decimal("-3.33"),
        Decimal("-3.33"),
    ]
    # A zero part of a negative split is a plain zero, never "-0.00".
    assert [str(p) for p in allocate(Decimal("-0.01"), [1, 1], "AMD")] == ["-0.01", "0.00"]
