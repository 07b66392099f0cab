"""Serializer conventions: unknown fields are refused; money is a decimal string with a currency."""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from core import money
from core.api.errors import UNKNOWN_FIELD


class StrictSerializer(serializers.Serializer):
    """Rejects body fields the endpoint does not declare (400 ``unknown_field``).

    The check runs before any other validation, so a request with an unknown field is answered
    with exactly those fields; nested strict serializers mark theirs with the same error code.
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
        return super().to_internal_value(data)


class StrictModelSerializer(StrictSerializer, serializers.ModelSerializer):
    pass


class AmountField(serializers.DecimalField):
    """A positive money amount as a decimal string, at most 2 decimal places, never a float."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", money.MAX_DIGITS)
        kwargs.setdefault("decimal_places", money.DECIMAL_PLACES)
        kwargs.setdefault("min_value", Decimal("0.01"))
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, float):
            self.fail("invalid")
        return super().to_internal_value(data)


class CurrencyField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=list(money.CURRENCIES), **kwargs)
