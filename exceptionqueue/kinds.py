"""The kinds of exception case, registered by the apps that raise them.

The kernel names no domain: each app declares its kinds in ``<app>/exception_kinds.py`` and
registers them in ``AppConfig.ready()``, as it registers its webhook event types::

    # webhooks/exception_kinds.py (the kernel's own kind)
    WEBHOOK_DELIVERY_FAILED = ExceptionKind("webhook_delivery_failed", _("Webhook delivery failed"))
    register_exception_kinds(WEBHOOK_DELIVERY_FAILED)  # in WebhooksConfig.ready()

An ``ExceptionKind`` is the code itself (a ``str``), so it goes wherever a kind is expected
(``exception_raise(kind=WEBHOOK_DELIVERY_FAILED)``, ``filter(kind=...)``), and carries its label,
default severity and whether it blocks the close of the accounting period it falls in (money may
be wrong). Kinds are stable snake_case codes; adding one needs no migration. Labels are lazy
translations: their Armenian and Russian live in ``desk/locale/domain_texts.py``.
"""

from __future__ import annotations

import re

KIND_RE = re.compile(r"^[a-z][a-z0-9_]*$")
SEVERITIES = ("low", "medium", "high", "critical")


class ExceptionKind(str):
    """A kind's code, with its ``label``, default ``severity`` and ``blocking``."""

    label: str
    severity: str
    blocking: bool

    def __new__(cls, code: str, label: str, *, severity: str = "medium", blocking: bool = False):
        if not KIND_RE.match(code):
            raise ValueError(f"{code!r} is not an exception kind (lower snake case).")
        if severity not in SEVERITIES:
            raise ValueError(f"{severity!r} is not a severity ({', '.join(SEVERITIES)}).")
        kind = super().__new__(cls, code)
        kind.label = label
        kind.severity = severity
        kind.blocking = blocking
        return kind

    def __reduce__(self):
        return (str, (str(self),))


_registered: dict[str, ExceptionKind] = {}


def register_exception_kinds(*kinds: ExceptionKind) -> None:
    """Declare kinds this app raises. Registering the same kind again is harmless; a different
    kind under a registered code is a programming error."""
    for kind in kinds:
        if not isinstance(kind, ExceptionKind):
            raise TypeError(f"{kind!r} is not an ExceptionKind.")
        known = _registered.get(str(kind))
        if known is not None and (known.label, known.severity, known.blocking) != (
            kind.label,
            kind.severity,
            kind.blocking,
        ):
            raise ValueError(f"Exception kind {kind!s} is registered twice, differently.")
        _registered[str(kind)] = kind


def exception_kind(code: str) -> ExceptionKind:
    """The registered kind of ``code``; ``LookupError`` when no app registered it."""
    try:
        return _registered[str(code)]
    except KeyError:
        raise LookupError(f"No app registered the exception kind {code!r}.") from None


_close_guards: dict[str, list] = {}


def register_close_guard(kind: ExceptionKind, guard) -> None:
    """``guard(case)`` runs before a person resolves or dismisses a case of ``kind`` and raises a
    ``DomainError`` when the case is resolved elsewhere (by a decision in the domain that raised
    it, which clears the case itself). Automatic clears do not run it."""
    guards = _close_guards.setdefault(str(kind), [])
    if guard not in guards:
        guards.append(guard)


def close_guards(kind: str) -> list:
    return list(_close_guards.get(str(kind), ()))


def kind_choices() -> list[tuple[str, str]]:
    """``(code, label)`` of every registered kind, for the model field, filters and forms."""
    return sorted(
        ((str(kind), kind.label) for kind in _registered.values()), key=lambda c: str(c[1])
    )


def blocking_kinds() -> frozenset[str]:
    return frozenset(str(kind) for kind in _registered.values() if kind.blocking)
