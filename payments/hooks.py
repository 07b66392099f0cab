"""How domains react to payment changes and extend the payments list, without payments knowing them.

- ``subscribe(listener)``: ``listener(change)`` runs synchronously inside the transaction that
  changed the payment, after the row was saved. An exception in a listener rolls the change back
  (the domain's rule is part of the change). Subscribe in ``AppConfig.ready()``.
- ``register_payment_filter(name, function, description, schema_type="string")``: adds
  ``?name=value`` to ``GET /api/v1/payments/``, documented with that OpenAPI type;
  ``function(queryset, value: str) -> queryset``. To refuse a bad value, raise
  ``ValidationError`` (DRF's or Django's) or ``ValueError``: the API answers 400 ``invalid``
  with the parameter's name as the field.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from payments.models import Payment, Refund

KINDS = ("verified", "declined", "expired", "refunded")


@dataclass(frozen=True)
class PaymentChange:
    payment: Payment
    kind: str  # "verified", "declined", "expired", "refunded"
    refund: Refund | None
    actor: Any


Listener = Callable[[PaymentChange], None]
_listeners: list[Listener] = []


def subscribe(listener: Listener) -> Listener:
    """Register ``listener``; registering the same function twice keeps one. Usable as decorator."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def unsubscribe(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def notify(change: PaymentChange) -> None:
    """Called by payments.services only, inside the transaction of the change."""
    if change.kind not in KINDS:
        raise ValueError(f"Unknown payment change kind {change.kind!r}.")
    for listener in list(_listeners):
        listener(change)


@dataclass(frozen=True)
class PaymentFilter:
    name: str
    function: Callable[[Any, str], Any]
    description: str
    schema_type: str = "string"


_filters: dict[str, PaymentFilter] = {}
RESERVED_FILTERS = frozenset(
    {"status", "branch", "currency", "verified_from", "verified_to", "cursor", "page_size"}
)


def register_payment_filter(
    name: str,
    function: Callable[[Any, str], Any],
    description: str,
    schema_type: str = "string",
):
    if name in RESERVED_FILTERS:
        raise ValueError(f"{name!r} is a built-in payments filter.")
    _filters[name] = PaymentFilter(
        name=name, function=function, description=description, schema_type=schema_type
    )
    return function


def payment_filters() -> dict[str, PaymentFilter]:
    return dict(_filters)
