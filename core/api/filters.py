"""Query and body values are checked before they reach SQL: 400 with the field, never a 500.

PostgreSQL refuses a NUL byte in text and an offset beyond ±15:59 (Python allows ±23:59), and
Python overflows a day added to 9999-12-31: each used to be a 500 for a well-formed request.
So every query parameter of every API view is refused when it holds a NUL byte
(``refuse_nul_query``), every date-time a filter or a body carries is normalised to UTC and
bounded to ``EARLIEST``..``LATEST`` (``bounded_moment``, ``bounded_day``; the range is
``core.dates``'s, the one every entry of dates uses), and
``PayopsFilterBackend`` (the default filter backend) applies those bounds to every FilterSet.

django-filter itself let malformed whole numbers and booleans through: a boolean filter read
``maybe`` (or ``2``) as "no filter", a number filter read ``1.5`` as 1 and an id beyond bigint as
"no row". ``PayopsFilterBackend`` checks every value of a filter on a whole-number column (ids,
foreign keys, ``in``/``any_of`` lists) with ``whole_number`` and of a boolean filter with
``boolean``, before the FilterSet reads them: 400 naming the parameter. A foreign-key filter
chooses among the token's organisation's rows only (``scope_choices``): another organisation's
id is refused as one that does not exist (it used to be accepted, so a token could tell which
ids other organisations had).
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cache

from django import forms
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django_filters import BaseCSVFilter, BooleanFilter, FilterSet, NumberFilter, utils
from django_filters.filters import QuerySetRequestMixin
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError

from core.dates import EARLIEST, LATEST, RANGE_MESSAGE, date_in_range

NUL = "\x00"
NUL_MESSAGE = "Null characters are not allowed."
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
WHOLE = re.compile(r"-?[0-9]+")
WHOLE_MESSAGE = "A whole number is required."
WHOLE_RANGE_MESSAGE = f"Out of range: whole numbers are from {BIGINT_MIN} to {BIGINT_MAX}."
WHOLE_NUMBER_LOOKUPS = frozenset({"exact", "in", "any_of", "range", "gt", "gte", "lt", "lte"})
BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
BOOLEAN_MESSAGE = "Must be true or false."


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


def whole_number(value: str) -> int:
    """``value`` as a whole number a bigint column holds (digits, an optional minus sign); else
    ValueError with the sentence the API answers."""
    if not WHOLE.fullmatch(value):
        raise ValueError(WHOLE_MESSAGE)
    number = int(value)
    if not BIGINT_MIN <= number <= BIGINT_MAX:
        raise ValueError(WHOLE_RANGE_MESSAGE)
    return number


def boolean(value: str) -> bool:
    """``true``/``false`` (any case) or ``1``/``0``; else ValueError."""
    try:
        return BOOLEANS[value.lower()]
    except KeyError:
        raise ValueError(BOOLEAN_MESSAGE) from None


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


@extend_schema_field(OpenApiTypes.INT)
class WholeNumberFilter(NumberFilter):
    """A filter on a whole-number column, documented as an integer (``NumberFilter`` reads and
    documents a decimal number)."""

    field_class = forms.IntegerField


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
        kwargs = self.get_filterset_kwargs(request, queryset, view)
        kwargs["data"] = checked_values(filterset_class, kwargs["data"])
        filterset = filterset_class(**kwargs)
        scope_choices(filterset, getattr(request, "organization", None))
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


def checked_values(filterset_class, data):
    """``data`` (the query) with every value of ``filterset_class``'s whole-number and boolean
    filters checked (400 naming each bad parameter) and the booleans written ``true``/``false``,
    which every django-filter widget reads (``NullBooleanSelect`` reads ``1`` as "unknown")."""
    checks = _value_checks(filterset_class)
    errors, booleans = {}, {}
    for name, (check, separated) in checks.items():
        values = [v for v in data.getlist(name) if v != ""]
        if separated:
            values = [part.strip() for v in values for part in v.split(",") if part.strip()]
        try:
            parsed = [check(value) for value in values]
        except ValueError as exc:
            errors[name] = [str(exc)]
            continue
        if check is boolean and parsed:
            booleans[name] = "true" if parsed[-1] else "false"
    if errors:
        raise ValidationError(errors)
    if booleans:
        data = data.copy()
        for name, value in booleans.items():
            data[name] = value
    return data


def scope_choices(filterset, organization) -> None:
    """Each model-choice filter of ``filterset`` (its own copies) chooses among
    ``organization``'s rows, when its model has an organisation."""
    if organization is None:
        return
    for f in filterset.filters.values():
        if not isinstance(f, QuerySetRequestMixin):
            continue
        queryset = f.get_queryset(filterset.request)
        if queryset is None or not _has_organization(queryset.model):
            continue
        f.queryset = queryset.filter(organization=organization)
        f.__dict__.pop("_field", None)  # a form field built before would keep the old choices


@cache
def _has_organization(model) -> bool:
    try:
        model._meta.get_field("organization")
    except FieldDoesNotExist:
        return False
    return True


@cache
def _value_checks(filterset_class) -> dict:
    """``{parameter: (check, comma_separated)}`` for the FilterSet's boolean filters and its
    filters on a whole-number column (a foreign key: the column it points to)."""
    model = getattr(filterset_class._meta, "model", None)
    checks = {}
    for name, f in filterset_class.base_filters.items():
        separated = isinstance(f, BaseCSVFilter) or f.lookup_expr in {"in", "any_of", "range"}
        if isinstance(f, BooleanFilter):
            checks[name] = (boolean, separated)
        elif _whole_number_column(model, f):
            checks[name] = (whole_number, separated)
    return checks


def _whole_number_column(model, f) -> bool:
    if model is None or not f.field_name or f.lookup_expr not in WHOLE_NUMBER_LOOKUPS:
        return False
    try:
        field = utils.get_model_field(model, f.field_name)
    except FieldDoesNotExist:
        return False
    if field is None:
        return False
    if field.is_relation and field.related_model is not None:
        to_field = f.extra.get("to_field_name")
        if to_field:
            field = field.related_model._meta.get_field(to_field)
        elif isinstance(field, models.ForeignObject):
            field = field.target_field
        else:  # a reverse relation: its rows' ids
            field = field.related_model._meta.pk
    return isinstance(field, models.IntegerField)
