"""Filters of ``GET /api/v1/payments/``: the built-in ones and those domains register."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import ValidationError
from rest_framework.filters import BaseFilterBackend

from core import money
from core.api.filters import bounded_day, bounded_moment
from payments import hooks
from payments.models import Payment

BUILT_IN = [
    ("status", "Payment status; several separated by commas.", None),
    ("branch", "Branch code.", None),
    ("currency", "ISO 4217 code.", None),
    (
        "verified_from",
        "Verified at or after: an ISO date (start of that day in the organisation's time "
        "zone) or date-time.",
        None,
    ),
    (
        "verified_to",
        "Verified at or before: an ISO date (the whole day, in the organisation's time zone) "
        "or date-time.",
        None,
    ),
]


def _moment(value: str, *, name: str, tz, end: bool) -> dt.datetime:
    """The moment in UTC, bounded by ``core.api.filters`` (400 on ``name`` when out of range)."""
    try:
        if len(value) == 10:
            day = bounded_day(dt.date.fromisoformat(value), name)
            moment = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
            return bounded_moment(moment + dt.timedelta(days=1) if end else moment, name)
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError({name: ["Not an ISO date or date-time."]}) from None
    return bounded_moment(moment, name, default_tz=tz)


def _apply_registered(registered, queryset, name: str, value: str):
    """A domain's filter; it rejects a bad value by raising ValidationError (DRF's or Django's)
    or ValueError, answered 400 ``invalid`` with the parameter as the field."""
    try:
        return registered.function(queryset, value)
    except ValidationError as exc:
        detail = exc.detail
        if isinstance(detail, dict):
            raise
        raise ValidationError({name: detail if isinstance(detail, list) else [detail]}) from None
    except DjangoValidationError as exc:
        raise ValidationError({name: list(exc.messages)}) from None
    except ValueError as exc:
        raise ValidationError({name: [str(exc) or "Invalid value."]}) from None


class PaymentFilterBackend(BaseFilterBackend):
    def filter_queryset(self, request, queryset, view):
        params = request.query_params
        organization = request.organization
        if value := params.get("status"):
            statuses = [s.strip() for s in value.split(",") if s.strip()]
            unknown = [s for s in statuses if s not in Payment.Status.values]
            if unknown:
                raise ValidationError({"status": [f"Unknown status: {', '.join(unknown)}."]})
            queryset = queryset.filter(status__in=statuses)
        if value := params.get("branch"):
            queryset = queryset.filter(branch__code=value)
        if value := params.get("currency"):
            if value not in money.CURRENCIES:
                raise ValidationError({"currency": ["Unknown currency."]})
            queryset = queryset.filter(currency=value)
        tz = organization.tz
        if value := params.get("verified_from"):
            queryset = queryset.filter(
                verified_at__gte=_moment(value, name="verified_from", tz=tz, end=False)
            )
        if value := params.get("verified_to"):
            moment = _moment(value, name="verified_to", tz=tz, end=True)
            if len(value) == 10:
                queryset = queryset.filter(verified_at__lt=moment)
            else:
                queryset = queryset.filter(verified_at__lte=moment)
        for name, registered in hooks.payment_filters().items():
            # Every value of a repeated parameter is checked (and applied: all of them hold).
            for value in params.getlist(name):
                if value != "":
                    queryset = _apply_registered(registered, queryset, name, value)
        return queryset

    def get_schema_operation_parameters(self, view):
        params = [
            {
                "name": name,
                "required": False,
                "in": "query",
                "description": description,
                "schema": {"type": "string"},
            }
            for name, description, _ in BUILT_IN
        ]
        params += [
            {
                "name": f.name,
                "required": False,
                "in": "query",
                "description": f.description,
                "schema": {"type": f.schema_type},
            }
            for f in hooks.payment_filters().values()
        ]
        return params


__all__ = ["PaymentFilterBackend"]
