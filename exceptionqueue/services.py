"""Writes of the exception queue: raise (deduplicated, race-safe), clear, and the operator moves."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from core.audit import save_audited
from core.errors import DomainError
from core.fsm import transition_apply
from core.models import Branch, Organization
from exceptionqueue.errors import ExceptionQueueError
from exceptionqueue.kinds import close_guards, exception_kind
from exceptionqueue.models import ExceptionCase, ExceptionCaseEvent

logger = logging.getLogger(__name__)

Action = ExceptionCaseEvent.Action


def _json_safe(details: dict[str, Any] | None) -> dict[str, Any]:
    """Details as plain JSON (Decimals and dates as strings), so they read back identically."""
    return json.loads(json.dumps(details or {}, cls=DjangoJSONEncoder))


def _as_date(value: Any, organization: Organization) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = value.astimezone(organization.tz)
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _as_amount(amount: Any) -> Decimal | None:
    if amount is None:
        return None
    if isinstance(amount, float):
        raise TypeError("Money amounts are Decimal, never float.")
    return Decimal(str(amount))


def _record(case: ExceptionCase, *, action: str, from_status: str, actor, comment: str = ""):
    return ExceptionCaseEvent.objects.create(
        case=case,
        action=action,
        from_status=from_status,
        to_status=case.status,
        actor=actor,
        comment=comment,
    )


def _active(organization: Organization, dedup_key: str) -> models.QuerySet[ExceptionCase]:
    return ExceptionCase.objects.filter(
        organization=organization,
        dedup_key=dedup_key,
        status__in=ExceptionCase.ACTIVE_STATUSES,
    )


@transaction.atomic
def exception_raise(
    *,
    organization: Organization,
    kind: str,
    dedup_key: str,
    message: str,
    actor,
    subject: models.Model | None = None,
    branch: Branch | None = None,
    amount: Decimal | None = None,
    currency: str | None = None,
    severity: str | None = None,
    details: dict[str, Any] | None = None,
    period_start: dt.date | None = None,
    period_end: dt.date | None = None,
    blocking: bool | None = None,
) -> ExceptionCase:
    """List a problem once: return the active case with this key, or open a new one.

    Race-safe: the conditional unique constraint (organization, dedup_key) over open and
    acknowledged cases decides between concurrent raisers; the loser reads the winner's row.
    A repeat bumps ``occurrences`` and ``last_seen_at`` and refreshes message, amount and details.

    The period (for period-close blocking) is ``period_start``/``period_end``, else the ISO dates
    ``details["period_start"]``/``details["period_end"]``, else the local date of the raise.
    """
    if not dedup_key:
        raise ValueError("exception_raise needs a dedup_key.")
    kind = exception_kind(kind)
    amount = _as_amount(amount)
    if amount is not None and not currency:
        raise ValueError("An exception amount needs its currency.")
    details = _json_safe(details)
    now = timezone.now()

    existing = _active(organization, dedup_key).select_for_update().first()
    if existing is not None:
        return _repeat(
            existing, message=message, amount=amount, details=details, now=now, actor=actor
        )

    start, end = _case_period(organization, period_start, period_end, details, now=now)
    subject_type = ContentType.objects.get_for_model(subject) if subject is not None else None
    case = ExceptionCase(
        organization=organization,
        branch=branch,
        kind=str(kind),
        severity=severity or kind.severity,
        dedup_key=dedup_key,
        message=message,
        blocking=kind.blocking if blocking is None else blocking,
        subject_type=subject_type,
        subject_id=str(subject.pk) if subject is not None else "",
        amount=amount,
        currency=currency or None,
        details=details,
        period_start=start,
        period_end=end,
        raised_by=actor,
        created_at=now,
        last_seen_at=now,
    )
    try:
        with transaction.atomic():  # savepoint: a lost race must not poison the caller
            save_audited(case, actor=actor, reason=f"raised: {kind}")
    except IntegrityError:
        existing = _active(organization, dedup_key).select_for_update().first()
        if existing is None:
            raise
        return _repeat(
            existing, message=message, amount=amount, details=details, now=now, actor=actor
        )
    _record(case, action=Action.RAISED, from_status="", actor=actor, comment=message)
    return case


def _case_period(
    organization: Organization, period_start, period_end, details: dict, *, now: dt.datetime
) -> tuple[dt.date, dt.date]:
    """The period a case falls in: the given dates, else ``details["period_start"/"period_end"]``,
    else the local date of the raise."""
    start = _as_date(period_start, organization) or _as_date(
        details.get("period_start"), organization
    )
    end = _as_date(period_end, organization) or _as_date(details.get("period_end"), organization)
    start = start or end or timezone.localtime(now, organization.tz).date()
    return start, end or start


def _repeat(case, *, message, amount, details, now, actor) -> ExceptionCase:
    case.occurrences += 1
    case.last_seen_at = now
    case.message = message
    if amount is not None:
        case.amount = amount
    if details:
        case.details = details
    save_audited(
        case,
        actor=actor,
        reason="raised again",
        update_fields=["occurrences", "last_seen_at", "message", "amount", "details"],
    )
    return case


def _locked(case: ExceptionCase | int) -> ExceptionCase:
    pk = case.pk if isinstance(case, ExceptionCase) else case
    return ExceptionCase.objects.select_for_update().get(pk=pk)


def _move(case: ExceptionCase, method: str) -> ExceptionCase:
    """Apply the transition ``method`` (409 ``transition_not_allowed`` when refused)."""
    message = f"An exception that is {case.status} cannot be {method.rstrip('e')}ed."
    transition_apply(case, method, message=message)
    return case


@transaction.atomic
def exception_acknowledge(*, case: ExceptionCase | int, actor, note: str = "") -> ExceptionCase:
    """Someone is on it: open -> acknowledged."""
    case = _locked(case)
    source = case.status
    _move(case, "acknowledge")
    case.acknowledged_by = actor
    case.acknowledged_at = timezone.now()
    save_audited(case, actor=actor, reason=note or "acknowledged")
    _record(case, action=Action.ACKNOWLEDGED, from_status=source, actor=actor, comment=note)
    return case


def _close(case, *, method: str, action: str, actor, note: str, auto: bool = False):
    case = _locked(case)
    source = case.status
    if not auto:  # a person closing it: the raising domain may say it is resolved elsewhere
        for guard in close_guards(case.kind):
            guard(case)
    _move(case, method)
    case.closed_by = actor
    case.closed_at = timezone.now()
    case.resolution_note = note
    case.auto_resolved = auto
    save_audited(case, actor=actor, reason=note)
    _record(case, action=action, from_status=source, actor=actor, comment=note)
    return case


def _require_note(note: str) -> str:
    note = (note or "").strip()
    if not note:
        raise ExceptionQueueError.RESOLUTION_NOTE_REQUIRED.error(
            fields={"note": ["This field is required."]}
        )
    return note


@transaction.atomic
def exception_resolve(*, case: ExceptionCase | int, actor, note: str) -> ExceptionCase:
    """The problem was fixed by a person: open/acknowledged -> resolved, with a note."""
    return _close(
        case, method="resolve", action=Action.RESOLVED, actor=actor, note=_require_note(note)
    )


@transaction.atomic
def exception_dismiss(*, case: ExceptionCase | int, actor, note: str) -> ExceptionCase:
    """Not a problem after all: open/acknowledged -> dismissed, with a note."""
    return _close(
        case, method="dismiss", action=Action.DISMISSED, actor=actor, note=_require_note(note)
    )


@transaction.atomic
def exception_clear(
    *, organization: Organization, dedup_key: str, actor, note: str
) -> ExceptionCase | None:
    """The condition behind a case cleared: resolve its active case automatically (audited).

    Returns the resolved case, or None when nothing was active under that key.
    """
    case = _active(organization, dedup_key).select_for_update().first()
    if case is None:
        return None
    return _close(
        case,
        method="resolve",
        action=Action.AUTO_RESOLVED,
        actor=actor,
        note=note or "condition cleared",
        auto=True,
    )


def exception_bulk_acknowledge(
    *, cases: Iterable[ExceptionCase | int], actor, note: str = ""
) -> list[ExceptionCase]:
    """Acknowledge every open case of ``cases``; others are left as they are. Each in its own
    transaction, so one case changed meanwhile does not undo the rest."""
    done = []
    for case in cases:
        try:
            done.append(exception_acknowledge(case=case, actor=actor, note=note))
        except DomainError:
            continue
    return done
