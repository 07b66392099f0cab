"""The event types an endpoint may subscribe to.

Every app that emits webhooks registers its types (``register_event_types``), so an endpoint that
asks for a type nobody emits (a typo such as ``payout.bogus``) is refused with 400
``invalid_event_type`` instead of silently never firing.

The emitting apps register their own types in ``AppConfig.ready()`` (payments, payouts), so the
kernel names no domain. Registering a type twice is harmless.
"""

from __future__ import annotations

import re

# The one definition of an event type (``<resource>.<status>``, lower snake case) and of what an
# endpoint may subscribe to: a type, ``<resource>.*`` or ``*``.
_NAME = r"[a-z][a-z0-9_]*"
EVENT_TYPE_RE = re.compile(rf"^{_NAME}\.{_NAME}$")
EVENT_PATTERN_RE = re.compile(rf"^(\*|{_NAME}\.(\*|{_NAME}))$")

_registered: set[str] = set()


def register_event_types(*event_types: str) -> None:
    """Declare event types this app emits (``<resource>.<status>``, lower snake case)."""
    for event_type in event_types:
        if not isinstance(event_type, str) or not EVENT_TYPE_RE.match(event_type):
            raise ValueError(f"{event_type!r} is not an event type (<resource>.<status>).")
        _registered.add(event_type)


def known_event_types() -> list[str]:
    return sorted(_registered)


def known_resources() -> list[str]:
    return sorted({event_type.split(".", 1)[0] for event_type in _registered})


def is_known(event_type: str) -> bool:
    return event_type in _registered


def pattern_is_known(pattern: str) -> bool:
    """``*``, ``<resource>.*`` for a resource with a registered type, or a registered type."""
    if pattern == "*":
        return True
    resource, _, status = pattern.partition(".")
    if status == "*":
        return resource in known_resources()
    return is_known(pattern)
