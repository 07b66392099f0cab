"""The lean path of list pages: ``.values()`` rows formatted exactly as a response serializer
formats model instances, without building the instances or walking DRF's per-field machinery.

Each field formats its value as its own ``to_representation`` would (decimals, date-times in the
current time zone, ...), so the output is the serializer's, byte for byte (tests compare the two).
For the common field types with DRF's default options the formatting is done here directly
(``_fast``): a string, an integer, a boolean, a choice, a JSON value pass through; a date and a
date-time are ``isoformat()`` (date-times in the current time zone, ``Z`` for UTC, as DRF); a
decimal already at the field's places is ``f"{value:f}"`` (DRF's ``quantize`` then ``{:f}``).
Any other value or field (a custom format, ``localize``, a decimal with more places) goes through
the field's own ``to_representation``. A related field (``PrimaryKeyRelatedField``,
``SlugRelatedField``, a dotted ``source``) reads the plain value its ``.values()`` key names, e.g.
``{"branch": "branch__code"}``; a ``SerializerMethodField`` reads the value a ``computed``
function gives for the row (``lean_rows(..., computed={"subject": fn})``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from decimal import Decimal
from functools import cache

from django.conf import settings
from django.utils import timezone
from rest_framework import ISO_8601, serializers
from rest_framework.relations import RelatedField
from rest_framework.settings import api_settings

_DATETIME = "datetime"  # a converter made per page (it needs the current time zone)
_COMPUTED = "computed"  # a method field: the view's ``computed`` function for the row


def _plain(value):
    return value


def _fast(field):
    """A converter equal to ``field.to_representation`` for the values ``.values()`` gives,
    falling back to it for anything else; None where the field has no fast path."""
    kind = type(field)
    slow = field.to_representation
    if kind is serializers.CharField:
        return lambda value: value if type(value) is str else slow(value)
    if kind is serializers.IntegerField:
        return lambda value: value if type(value) is int else slow(value)
    if kind is serializers.BooleanField:
        return lambda value: value if type(value) is bool else slow(value)
    if kind is serializers.ChoiceField:
        known = field.choice_strings_to_values
        return lambda value: known.get(value, value) if type(value) is str else slow(value)
    if kind is serializers.JSONField and not field.binary:
        return _plain
    if kind is serializers.DateField:
        if str(getattr(field, "format", api_settings.DATE_FORMAT)).lower() != ISO_8601:
            return None
        return lambda value: value.isoformat() if type(value) is dt.date else slow(value)
    if kind is serializers.DecimalField:
        coerce = getattr(field, "coerce_to_string", api_settings.COERCE_DECIMAL_TO_STRING)
        if not coerce or field.localize or field.normalize_output or field.decimal_places is None:
            return None
        places, digits = -field.decimal_places, field.max_digits

        def decimal(value):
            if type(value) is Decimal:
                shape = value.as_tuple()
                if shape.exponent == places and (digits is None or len(shape.digits) <= digits):
                    return f"{value:f}"  # what quantize to the same places then {:f} gives
            return slow(value)

        return decimal
    if kind is serializers.DateTimeField:
        output = getattr(field, "format", api_settings.DATETIME_FORMAT)
        if output is None or str(output).lower() != ISO_8601 or hasattr(field, "timezone"):
            return None
        return _DATETIME if settings.USE_TZ else None
    return None


def _datetime(field, tz):
    """DRF's ``DateTimeField.to_representation`` for an aware date-time, in ``tz``."""
    slow = field.to_representation

    def convert(value):
        if type(value) is not dt.datetime or value.tzinfo is None:
            return slow(value)
        try:
            text = value.astimezone(tz).isoformat()
        except OverflowError:  # DRF's own error for it
            return slow(value)
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return convert


@cache
def _converters(serializer_class) -> tuple[tuple[str, object, object], ...]:
    """(field name, converter or marker, field) per field of ``serializer_class``."""
    out = []
    for name, field in serializer_class().fields.items():
        if isinstance(field, RelatedField) or "." in (field.source or ""):
            out.append((name, _plain, field))
        elif isinstance(field, serializers.SerializerMethodField):
            out.append((name, _COMPUTED, field))
        else:
            out.append((name, _fast(field) or field.to_representation, field))
    return tuple(out)


def lean_rows(
    serializer_class,
    rows: Iterable[dict],
    sources: dict[str, str],
    *,
    computed: dict[str, Callable[[dict], object]] | None = None,
) -> list[dict]:
    """``rows`` (``.values()`` dicts) as ``serializer_class(many=True).data`` would give the
    instances. ``sources`` maps a field to its ``.values()`` key where the two differ;
    ``computed`` gives a method field's value from the row."""
    computed = computed or {}
    tz = timezone.get_current_timezone()
    plan = []
    for name, convert, field in _converters(serializer_class):
        if convert is _COMPUTED:
            if name not in computed:
                raise TypeError(f"{serializer_class.__name__}.{name}: no computed value given")
            plan.append((name, None, computed[name]))  # called with the whole row
            continue
        if convert is _DATETIME:
            convert = _datetime(field, tz)
        plan.append((name, sources.get(name, name), convert))
    return [
        {
            name: (
                convert(row)
                if key is None
                else (None if (value := row[key]) is None else convert(value))
            )
            for name, key, convert in plan
        }
        for row in rows
    ]


def lean_values(serializer_class, sources: dict[str, str]) -> list[str]:
    """The ``.values()`` keys ``lean_rows`` reads for ``serializer_class`` (method fields read
    what their ``sources`` entry names: a key or a tuple of keys)."""
    keys = []
    for name, convert, _ in _converters(serializer_class):
        source = sources.get(name, name)
        if convert is _COMPUTED:
            keys += [source] if isinstance(source, str) else list(source)
        else:
            keys.append(source)
    return keys
