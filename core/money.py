"""Money: exact decimals with a currency, rounded per currency in this one place.

Rounding rule (written down once, used everywhere): amounts are rounded to the currency's minor
unit with ROUND_HALF_UP (commercial rounding: 0.005 -> 0.01). Amounts are stored as
``DecimalField(max_digits=20, decimal_places=2)``; every supported currency has exponent 2 in
ISO 4217 (the Armenian dram included: 1 AMD = 100 luma, even though luma are not used in cash).
Conversion to integer minor units happens only inside provider adapters, through ``to_minor``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import models

# ISO 4217: alphabetic code -> (numeric code, exponent). The gateways speak the numeric codes.
CURRENCIES: dict[str, tuple[str, int]] = {
    "AMD": ("051", 2),
    "USD": ("840", 2),
    "EUR": ("978", 2),
    "RUB": ("643", 2),
}
CURRENCY_CHOICES = [(code, code) for code in CURRENCIES]
NUMERIC_TO_ALPHA = {numeric: alpha for alpha, (numeric, _) in CURRENCIES.items()}
MAX_DIGITS = 20
DECIMAL_PLACES = 2
# The largest amount payops accepts, in minor units, for every currency: 9,999,999,999.99. It fits
# the gateways' integer minor units (BPC's ``amount``, a signed 64-bit ``bigint`` in the sandbox)
# and a JSON number without loss (below 2**53), so no stored amount can overflow a gateway call,
# a sum over a page, or a client's parser.
MAX_MINOR_UNITS = 10**12 - 1


class CurrencyError(ValueError):
    pass


def exponent(currency: str) -> int:
    try:
        return CURRENCIES[currency][1]
    except KeyError:
        raise CurrencyError(f"Unsupported currency {currency!r}.") from None


def numeric_code(currency: str) -> str:
    try:
        return CURRENCIES[currency][0]
    except KeyError:
        raise CurrencyError(f"Unsupported currency {currency!r}.") from None


def alpha_code(numeric: str | int) -> str:
    key = str(numeric).zfill(3)
    try:
        return NUMERIC_TO_ALPHA[key]
    except KeyError:
        raise CurrencyError(f"Unsupported numeric currency {numeric!r}.") from None


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-exponent(currency))


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round to the currency's minor unit, half up. The one rounding rule of payops."""
    if not isinstance(amount, Decimal):
        raise TypeError("Money amounts are Decimal, never float.")
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def parse_amount(value: str | int | Decimal, currency: str) -> Decimal:
    """Parse an exact amount; refuse more precision than the currency has instead of rounding."""
    if isinstance(value, float):
        raise TypeError("Money amounts are Decimal, never float.")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal amount.") from None
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not a decimal amount.")
    if amount != amount.quantize(quantum(currency), rounding=ROUND_DOWN):
        raise ValueError(f"{currency} amounts have at most {exponent(currency)} decimal places.")
    return round_money(amount, currency)


def max_amount(currency: str) -> Decimal:
    """The largest amount of ``currency`` payops accepts (see ``MAX_MINOR_UNITS``)."""
    return from_minor(MAX_MINOR_UNITS, currency)


def check_amount_bound(amount: Decimal, currency: str) -> Decimal:
    """``amount`` if its absolute value is within ``max_amount``; ``ValueError`` otherwise."""
    limit = max_amount(currency)
    if abs(amount) > limit:
        raise ValueError(f"{currency} amounts are at most {limit}.")
    return amount


def to_minor(amount: Decimal, currency: str) -> int:
    """Decimal amount -> integer minor units (for provider adapters only). Must be exact."""
    scaled = amount.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} {currency} has more precision than the currency.")
    return int(scaled)


def from_minor(minor: int | str, currency: str) -> Decimal:
    return Decimal(int(minor)).scaleb(-exponent(currency)).quantize(quantum(currency))


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError("Money amounts are Decimal, never float.")
        exponent(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(round_money(Decimal(0), currency), currency)

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise CurrencyError(f"Cannot combine {self.currency} with {other.currency}.")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def rounded(self) -> Money:
        return Money(round_money(self.amount, self.currency), self.currency)

    @property
    def minor(self) -> int:
        return to_minor(self.amount, self.currency)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


def allocate(total: Decimal, weights: Sequence[Decimal | int], currency: str) -> list[Decimal]:
    """Split ``total`` by ``weights`` with the largest-remainder method.

    Each part is first rounded down to the minor unit; the minor units left over go one each to
    the parts with the largest remainders (ties: the earlier part). The parts add back to
    ``total`` exactly. A negative total is split as its absolute value and negated, so its parts
    mirror the positive split and each carries the total's sign.
    """
    if not weights:
        raise ValueError("allocate needs at least one weight.")
    weights = [Decimal(w) for w in weights]
    if any(w < 0 for w in weights) or sum(weights) == 0:
        raise ValueError("Weights must be non-negative and not all zero.")
    total_minor = to_minor(round_money(total, currency), currency)
    sign, total_minor = (-1 if total_minor < 0 else 1), abs(total_minor)
    weight_sum = sum(weights)
    raw = [Decimal(total_minor) * w / weight_sum for w in weights]
    parts = [int(r.to_integral_value(rounding=ROUND_DOWN)) for r in raw]
    leftover = total_minor - sum(parts)
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - parts[i]), i))
    for i in order[:leftover]:
        parts[i] += 1
    return [from_minor(sign * p, currency) for p in parts]


def AmountField(**kwargs) -> models.DecimalField:
    """The one column type for money amounts."""
    kwargs.setdefault("max_digits", MAX_DIGITS)
    kwargs.setdefault("decimal_places", DECIMAL_PLACES)
    return models.DecimalField(**kwargs)


def CurrencyField(**kwargs) -> models.CharField:
    kwargs.setdefault("max_length", 3)
    kwargs.setdefault("choices", CURRENCY_CHOICES)
    return models.CharField(**kwargs)
