"""Query and body values are checked before they reach SQL: 400 with the field, never a 500.

PostgreSQL refuses a NUL byte in text and an offset beyond ±15:59 (Python allows ±23:59), and
Python overflows a day added to 9999-12-31: each used to be a 500 for a well-formed request.
So every query parameter of every API view is refused when it holds a NUL byte
(``refuse_nul_query``), every date-time a filter or a body carries is normalised to UTC and
bounded to ``EARLIEST``..``LATEST`` (``bounded_moment``, ``bounded_day``; the range is
``core.dates``'s, the one every entry of dates uses), and
``PayopsFilterBackend`` (the default filter backend) applies those bounds to every FilterSet.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

from django_filters import FilterSet, utils
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError

from core.dates import EARLIEST, LATEST, RANGE_MESSAGE, date_in_range

NUL = "\x00"
NUL_MESSAGE = "Null characters are not allowed."


def out_of_range(name: str) -> ValidationError:
    return ValidationError({name: [RANGE_MESSAGE]})


def bounded_moment(moment: dt.datetime, name: str, *, default_tz=dt.UTC) -> dt.datetime:
    """``moment`` in UTC (a naive one read in ``default_tz``), or 400 on ``name`` when it falls
    outside ``EARLIEST``..``LATEST`` or cannot be converted."""
    try:
        if moment.tzinfo is None or moment.utcoffset() is None:
            moment = moment.replace(tzinfo=default_tz)
        utc = moment.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        raise out_of_range(name) from None
    if not EARLIEST <= utc <= LATEST:
        raise out_of_range(name)
    return utc


def bounded_day(day: dt.date, name: str) -> dt.date:
    if not date_in_range(day):
        raise out_of_range(name)
    return day


def bounded(value, name: str):
    """A cleaned filter or body value, with dates and date-times bounded (others unchanged)."""
    if isinstance(value, dt.datetime):
        return bounded_moment(value, name)
    if isinstance(value, dt.date):
        return bounded_day(value, name)
    return value


def refuse_nul_query(query_params) -> None:
    """400 naming every query parameter whose name or value holds a NUL byte."""
    bad = sorted(
        {
            name
            for name, values in query_params.lists()
            if NUL in name or any(NUL in value for value in values)
        }
    )
    if bad:
        raise ValidationError({name.replace(NUL, "\\x00"): [NUL_MESSAGE] for name in bad})


class PayopsFilterBackend(DjangoFilterBackend):
    """django-filter's backend with every date and date-time filter bounded (see above).

    Cheaper per request, with the same result: a view's ``filterset_fields`` FilterSet class is
    built once per view class (django-filter builds a new class on every request), and a request
    that names none of the FilterSet's filters gets the queryset as it is, without building and
    validating the FilterSet (which would filter nothing), unless a filter is required or the
    FilterSet filters on its own (overrides ``qs`` or ``filter_queryset``)."""

    _auto_classes: dict = {}

    def get_filterset_class(self, view, queryset=None):
        fields = getattr(view, "filterset_fields", None)
        if getattr(view, "filterset_class", None) or not fields or queryset is None:
            return super().get_filterset_class(view, queryset)
        key = (type(view), queryset.model, repr(fields))
        built = self._auto_classes.get(key)
        if built is None:
            built = self._auto_classes[key] = super().get_filterset_class(view, queryset)
        return built

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None:
            return queryset
        if not _names_a_filter(filterset_class, request.query_params):
            return queryset
        filterset = filterset_class(**self.get_filterset_kwargs(request, queryset, view))
        if not filterset.is_valid() and self.raise_exception:
            raise utils.translate_validation(filterset.errors)
        cleaned = filterset.form.cleaned_data
        for name, value in cleaned.items():
            cleaned[name] = bounded(value, name)
        return filterset.qs


@cache
def _filter_names(filterset_class) -> tuple[str, ...] | None:
    """The names a request uses for ``filterset_class``'s filters (a range filter's parameters
    start with its name), or None when the FilterSet must always run."""
    own = any(
        getattr(filterset_class, attribute) is not getattr(FilterSet, attribute)
        for attribute in ("qs", "filter_queryset", "__init__")
    )
    required = any(f.extra.get("required") for f in filterset_class.base_filters.values())
    if own or required:
        return None
    return tuple(filterset_class.base_filters)


def _names_a_filter(filterset_class, query_params) -> bool:
    names = _filter_names(filterset_class)
    if names is None:
        return True
    return any(param.startswith(names) for param in query_params)
