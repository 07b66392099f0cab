"""The lean path of list pages: ``.values()`` rows formatted exactly as a response serializer
formats model instances, without building the instances or walking DRF's per-field machinery.

Each field's own ``to_representation`` formats the value (decimals, date-times in the current
time zone, ...), so the output is the serializer's, byte for byte (tests compare the two). A
related field (``PrimaryKeyRelatedField``, ``SlugRelatedField``, a dotted ``source``) reads the
plain value its ``.values()`` key names, e.g. ``{"branch": "branch__code"}``.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from rest_framework import serializers
from rest_framework.relations import RelatedField


def _plain(value):
    return value


@cache
def _converters(serializer_class) -> tuple[tuple[str, object], ...]:
    out = []
    for name, field in serializer_class().fields.items():
        if isinstance(field, RelatedField) or "." in (field.source or ""):
            out.append((name, _plain))
        elif isinstance(field, serializers.SerializerMethodField):
            raise TypeError(f"{serializer_class.__name__}.{name}: a method field has no lean path")
        else:
            out.append((name, field.to_representation))
    return tuple(out)


def lean_rows(serializer_class, rows: Iterable[dict], sources: dict[str, str]) -> list[dict]:
    """``rows`` (``.values()`` dicts) as ``serializer_class(many=True).data`` would give the
    instances. ``sources`` maps a field to its ``.values()`` key where the two differ."""
    plan = [(n, sources.get(n, n), convert) for n, convert in _converters(serializer_class)]
    return [
        {
            name: (None if (value := row[key]) is None else convert(value))
            for name, key, convert in plan
        }
        for row in rows
    ]


def lean_values(serializer_class, sources: dict[str, str]) -> list[str]:
    """The ``.values()`` keys ``lean_rows`` reads for ``serializer_class``."""
    return [sources.get(name, name) for name, _ in _converters(serializer_class)]
