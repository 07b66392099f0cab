"""Serializer conventions: unknown fields are refused; money is a decimal string with a currency."""

from __future__ import annotations

import re
from decimal import Decimal

from rest_framework import serializers

from core import money
from core.api.errors import UNKNOWN_FIELD
from core.api.filters import NUL, NUL_MESSAGE, bounded


def _nul_errors(data):
    """The NUL bytes of a parsed JSON body, as DRF's nested field errors (``None``: none)."""
    if isinstance(data, str):
        if NUL not in data:
            return None
        return [serializers.ErrorDetail(NUL_MESSAGE, code="null_characters_not_allowed")]
    if isinstance(data, dict):
        items = data.items()
    elif isinstance(data, list):
        items = enumerate(data)
    else:
        return None
    errors = {}
    for key, value in items:
        if isinstance(key, str) and NUL in key:
            errors[key.replace(NUL, "\\x00")] = _nul_errors(key)
        elif (error := _nul_errors(value)) is not None:
            errors[key] = error
    return errors or None


class StrictSerializer(serializers.Serializer):
    """Rejects body fields the endpoint does not declare (400 ``unknown_field``).

    The check runs before any other validation, so a request with an unknown field is answered
    with exactly those fields; nested strict serializers mark theirs with the same error code.
    Then, as PostgreSQL cannot hold them, any string with a NUL byte is 400 on its field, and
    dates and date-times are bounded (``core.api.filters``); money amounts by their currency.
    """

    def to_internal_value(self, data):
        if isinstance(data, dict):
            known = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - known)
            if unknown:
                raise serializers.ValidationError(
                    {
                        name: [serializers.ErrorDetail("Unknown field.", code=UNKNOWN_FIELD)]
                        for name in unknown
                    }
                )
            if (errors := _nul_errors(data)) is not None:
                raise serializers.ValidationError(errors)
        values = super().to_internal_value(data)
        for field in self._writable_fields:
            name = field.field_name
            if name not in values:
                continue
            if isinstance(field, serializers.DateTimeField | serializers.DateField):
                if values[name] is not None:
                    bounded(values[name], name)
            elif isinstance(field, AmountField):
                field.check_bound(values[name], values)
        return values


class StrictModelSerializer(StrictSerializer, serializers.ModelSerializer):
    pass


PLAIN_DECIMAL = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


class AmountField(serializers.DecimalField):
    """A positive money amount as a decimal string, at most 2 decimal places, never a float.

    Bounded by ``core.money.max_amount``: by the largest of any currency here, and by that of its
    currency when the body names one in ``currency_field`` (checked by ``StrictSerializer``).
    An amount the gateways cannot carry is 400 ``invalid`` before anything is stored.
    """

    def __init__(self, *, currency_field: str | None = "currency", **kwargs):
        self.currency_field = currency_field
        limit = max(money.max_amount(c) for c in money.CURRENCIES)
        # As many digits as the bound has, so the schema's pattern says it to clients too.
        kwargs.setdefault("max_digits", len(limit.as_tuple().digits))
        kwargs.setdefault("decimal_places", money.DECIMAL_PLACES)
        kwargs.setdefault("min_value", Decimal("0.01"))
        kwargs.setdefault("max_value", limit)
        too_large = f"Amounts are at most {kwargs['max_value']}."
        kwargs["error_messages"] = {
            "max_value": too_large,
            "max_digits": too_large,
            "max_whole_digits": too_large,
            **kwargs.get("error_messages", {}),
        }
        super().__init__(**kwargs)

    def check_bound(self, amount: Decimal, values: dict) -> None:
        currency = values.get(self.currency_field) if self.currency_field else None
        if amount is None or currency not in money.CURRENCIES:
            return
        try:
            money.check_amount_bound(amount, currency)
        except ValueError as exc:
            raise serializers.ValidationError({self.field_name: [str(exc)]}) from None

    def to_internal_value(self, data):
        if isinstance(data, float):
            self.fail("invalid")
        # A plain decimal string ("1500.00"): DRF also reads exponents ("1e3" = 1000.00), which
        # neither the CONTRACT's money format nor the schema's pattern allows.
        if isinstance(data, str) and not PLAIN_DECIMAL.match(data.strip()):
            self.fail("invalid")
        return super().to_internal_value(data)


class CurrencyField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=list(money.CURRENCIES), **kwargs)
