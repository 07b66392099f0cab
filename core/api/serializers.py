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
        values = super().to_internal_value(data)
        for field in self._writable_fields:
            if isinstance(field, AmountField) and field.field_name in values:
                field.check_bound(values[field.field_name], values)
        return values


class StrictModelSerializer(StrictSerializer, serializers.ModelSerializer):
    pass


class AmountField(serializers.DecimalField):
    """A positive money amount as a decimal string, at most 2 decimal places, never a float.

    Bounded by ``core.money.max_amount``: by the largest of any currency here, and by that of its
    currency when the body names one in ``currency_field`` (checked by ``StrictSerializer``).
    An amount the gateways cannot carry is 400 ``invalid`` before anything is stored.
    """

    def __init__(self, *, currency_field: str | None = "currency", **kwargs):
        self.currency_field = currency_field
        kwargs.setdefault("max_digits", money.MAX_DIGITS)
        kwargs.setdefault("decimal_places", money.DECIMAL_PLACES)
        kwargs.setdefault("min_value", Decimal("0.01"))
        kwargs.setdefault("max_value", max(money.max_amount(c) for c in money.CURRENCIES))
        kwargs["error_messages"] = {
            "max_value": "Amounts are at most {max_value}.",
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
        return super().to_internal_value(data)


class CurrencyField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=list(money.CURRENCIES), **kwargs)
