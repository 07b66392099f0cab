"""The exception cases payouts lists in the queue, and clears when their cause is gone.

Raising a case never breaks the caller (the queue resolves its own races); each case has a stable
dedup key, so listing it twice updates one case.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction

from exceptionqueue.services import exception_clear, exception_raise
from payouts.exception_kinds import (
    COMPLETED_WITHOUT_REFERENCE,
    LATE_PAYMENT_IN_CLOSED_PERIOD,
    PERIOD_BUILD_FAILED,
    REFUND_DRIFT,
)
from payouts.models import Payout, PayoutPeriod

logger = logging.getLogger(__name__)


def drift_key(payout: Payout) -> str:
    return f"payouts:{REFUND_DRIFT}:{payout.pk}"


def reference_key(payout: Payout) -> str:
    return f"payouts:{COMPLETED_WITHOUT_REFERENCE}:{payout.pk}"


def late_key(period: PayoutPeriod) -> str:
    return f"payouts:{LATE_PAYMENT_IN_CLOSED_PERIOD}:{period.pk}"


def build_failed_key(period: PayoutPeriod) -> str:
    return f"payouts:{PERIOD_BUILD_FAILED}:{period.pk}"


def case_raise(
    subject, kind, dedup_key: str, *, message: str, actor, period=None, blocking=None, **fields
):
    """List an exception case about ``subject`` (in its organisation); never lets the queue's
    failure break the caller. ``period`` is ``(start, end)``; ``blocking`` overrides the kind's
    default; ``fields``: ``branch``, ``amount``, ``currency``, ``details``."""
    if period is not None:
        fields["period_start"], fields["period_end"] = period
    if blocking is not None:
        fields["blocking"] = blocking
    fields["details"] = fields.get("details") or {}
    try:
        with transaction.atomic():
            return exception_raise(
                organization=subject.organization,
                kind=kind,
                dedup_key=dedup_key,
                message=message,
                actor=actor,
                subject=subject,
                **fields,
            )
    except IntegrityError:  # pragma: no cover - the queue resolves its own races
        logger.exception("could not raise exception case %s", dedup_key)
        return None


def case_clear(*, organization, dedup_key, actor, note):
    return exception_clear(organization=organization, dedup_key=dedup_key, actor=actor, note=note)


def payout_cases_clear(payout: Payout, *, actor, to: str) -> None:
    """A completed or cancelled payout: its missing-reference and refund drift cases are over."""
    case_clear(
        organization=payout.organization,
        dedup_key=reference_key(payout),
        actor=actor,
        note=f"payout {to}",
    )
    case_clear(
        organization=payout.organization,
        dedup_key=drift_key(payout),
        actor=actor,
        note=f"payout {to} after the refund was accounted for",
    )


def request_refused_case_raise(exc, *, recipient, currency, period_start, period_end, actor):
    """A refused payout request (``no_verified_payments``, ``duplicate_active_payout``)."""
    case_raise(
        recipient,
        exc.code,
        f"payouts:{exc.code}:{recipient.pk}:{currency}:{period_start}:{period_end}",
        message=exc.message,
        actor=actor,
        branch=recipient.branch,
        currency=currency,
        period=(period_start, period_end),
        details={
            "recipient": recipient.pk,
            "currency": currency,
            "period_start": period_start.isoformat(),
            "period_end": period_end.isoformat(),
        },
        # A refused duplicate changed nothing: listed, but it does not block the close.
        blocking=False if exc.code == "duplicate_active_payout" else None,
    )


def _payout_case(payout: Payout, kind, dedup_key: str, *, message: str, actor, amount, details):
    """A case about ``payout``: its organisation, branch, currency and range."""
    case_raise(
        payout,
        kind,
        dedup_key,
        message=message,
        actor=actor,
        branch=payout.branch,
        amount=amount,
        currency=payout.currency,
        period=(payout.period_start, payout.period_end),
        details={"payout": payout.pk, **details},
    )


def reference_case_raise(payout: Payout, *, message: str, actor) -> None:
    """A completion refused for want of method and reference."""
    _payout_case(
        payout,
        COMPLETED_WITHOUT_REFERENCE,
        reference_key(payout),
        message=message,
        actor=actor,
        amount=payout.net,
        details={},
    )


def drift_case_raise(payout: Payout, payment, amount, actor, what: str) -> None:
    """A refund hit a requested (``recalculated``) or processing (``held``) payout."""
    if what == "recalculated":
        message = (
            f"Payout #{payout.pk} was recalculated: payment {payment.pk} was refunded "
            f"({amount} {payout.currency}) after the request."
        )
    else:
        message = (
            f"Payout #{payout.pk} is processing and payment {payment.pk} was refunded "
            f"({amount} {payout.currency}): completion is held until an operator decides."
        )
    details = {"payment": payment.pk, "status": payout.status}
    _payout_case(
        payout,
        REFUND_DRIFT,
        drift_key(payout),
        message=message,
        actor=actor,
        amount=amount,
        details=details,
    )


def _period_case(period: PayoutPeriod, kind, dedup_key: str, *, message, actor, details, **more):
    """A case about a closed ``period`` (never blocking: its payouts are built)."""
    return case_raise(
        period,
        kind,
        dedup_key,
        message=message,
        actor=actor,
        period=(period.start_date, period.end_date),
        details={"accounting_period": period.pk, **details},
        blocking=False,
        **more,
    )


def late_payment_case_raise(period: PayoutPeriod, *, message: str, actor, details: dict, **more):
    """Payments of a closed, built period that its build did not hold. ``more``: the payment's
    ``branch``, ``amount`` and ``currency`` when one payment is named."""
    _period_case(
        period,
        LATE_PAYMENT_IN_CLOSED_PERIOD,
        late_key(period),
        message=message,
        actor=actor,
        details=details,
        **more,
    )


def period_build_recovered(*, period: PayoutPeriod, actor):
    """The build of ``period`` succeeded: its ``period_build_failed`` case (if any) is resolved."""
    return case_clear(
        organization=period.organization,
        dedup_key=build_failed_key(period),
        actor=actor,
        note="the build succeeded on a later run",
    )


def period_build_failed(*, period: PayoutPeriod, error: Exception, actor):
    """List a failed build (the sweeper retries it every run until it succeeds)."""
    return _period_case(
        period,
        PERIOD_BUILD_FAILED,
        build_failed_key(period),
        message=f"Building the payouts of period {period} failed: {type(error).__name__}: {error}",
        actor=actor,
        details={"error": type(error).__name__},
    )
