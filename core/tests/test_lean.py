"""``core.api.lean``: the fast formatting of ``.values()`` rows is the serializer's, value for
value, including the values that take the serializer's own path (more decimal places, a naive
or far date-time, another time zone)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone
from rest_framework import serializers

from core.api.lean import lean_rows


class Row(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=[("a", "A"), ("b", "B")])
    active = serializers.BooleanField()
    amount = serializers.DecimalField(max_digits=20, decimal_places=2)
    rate = serializers.DecimalField(max_digits=5, decimal_places=4)
    day = serializers.DateField()
    at = serializers.DateTimeField()
    details = serializers.JSONField()


ROWS = [
    {
        "id": 1,
        "name": "plain",
        "kind": "a",
        "active": True,
        "amount": Decimal("12.30"),
        "rate": Decimal("0.0250"),
        "day": dt.date(2026, 10, 1),
        "at": dt.datetime(2026, 10, 1, 12, 30, 15, 123456, tzinfo=dt.UTC),
        "details": {"k": [1, "two"]},
    },
    {
        "id": 2,
        "name": "Ünïcode",
        "kind": "b",
        "active": False,
        "amount": Decimal("-0.00"),
        "rate": Decimal("1.5"),  # fewer places: the serializer's quantize
        "day": dt.date(1970, 1, 1),
        "at": dt.datetime(2026, 3, 29, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
        "details": [],
    },
    {
        "id": 3,
        "name": "",
        "kind": "a",
        "active": True,
        "amount": Decimal("123456789012345678.99"),
        "rate": Decimal("0.12345"),  # more places: rounded by the serializer
        "day": dt.date(9999, 12, 31),
        "at": dt.datetime(2026, 10, 1, 12, 0),  # naive: the serializer's make_aware
        "details": None,
    },
]


def test_lean_rows_are_the_serializers_output():
    assert lean_rows(Row, ROWS, {}) == Row(ROWS, many=True).data


def test_lean_rows_follow_the_current_time_zone():
    with timezone.override(dt.UTC):
        utc = lean_rows(Row, ROWS, {})
        assert utc == Row(ROWS, many=True).data
    assert utc[0]["at"] == "2026-10-01T12:30:15.123456Z"
    with timezone.override("Asia/Yerevan"):
        assert lean_rows(Row, ROWS, {}) == Row(ROWS, many=True).data
        assert lean_rows(Row, ROWS, {})[0]["at"] == "2026-10-01T16:30:15.123456+04:00"
