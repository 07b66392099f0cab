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
    *,
    organization,
    kind,
    dedup_key,
    message,
    actor,
    subject=None,
    branch=None,
    amount=None,
    currency=None,
    period=None,
    details=None,
    blocking=None,
):
    """List an exception case; never lets the queue's failure break the caller. ``period`` is
    ``(start, end)``; ``blocking`` overrides the kind's default."""
    kwargs = {}
    if period is not None:
        kwargs["period_start"], kwargs["period_end"] = period
    if blocking is not None:
        kwargs["blocking"] = blocking
    try:
        with transaction.atomic():
            return exception_raise(
                organization=organization,
                kind=kind,
                dedup_key=dedup_key,
                message=message,
                actor=actor,
                subject=subject,
                branch=branch,
                amount=amount,
                currency=currency,
                details=details or {},
                **kwargs,
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
        organization=recipient.organization,
        kind=exc.code,
        dedup_key=f"payouts:{exc.code}:{recipient.pk}:{currency}:{period_start}:{period_end}",
        message=exc.message,
        actor=actor,
        subject=recipient,
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


def reference_case_raise(payout: Payout, *, message: str, actor) -> None:
    """A completion refused for want of method and reference."""
    case_raise(
        organization=payout.organization,
        kind=COMPLETED_WITHOUT_REFERENCE,
        dedup_key=reference_key(payout),
        message=message,
        actor=actor,
        subject=payout,
        branch=payout.branch,
        amount=payout.net,
        currency=payout.currency,
        period=(payout.period_start, payout.period_end),
        details={"payout": payout.pk},
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
    case_raise(
        organization=payout.organization,
        kind=REFUND_DRIFT,
        dedup_key=drift_key(payout),
        message=message,
        actor=actor,
        subject=payout,
        branch=payout.branch,
        amount=amount,
        currency=payout.currency,
        period=(payout.period_start, payout.period_end),
        details={"payout": payout.pk, "payment": payment.pk, "status": payout.status},
    )


def late_payment_case_raise(
    period: PayoutPeriod,
    *,
    message: str,
    actor,
    details: dict,
    branch=None,
    amount=None,
    currency=None,
) -> None:
    """Payments of a closed, built period that its build did not hold (never blocking)."""
    case_raise(
        organization=period.organization,
        kind=LATE_PAYMENT_IN_CLOSED_PERIOD,
        dedup_key=late_key(period),
        message=message,
        actor=actor,
        subject=period,
        branch=branch,
        amount=amount,
        currency=currency,
        period=(period.start_date, period.end_date),
        details={"accounting_period": period.pk, **details},
        blocking=False,
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
    return case_raise(
        organization=period.organization,
        kind=PERIOD_BUILD_FAILED,
        dedup_key=build_failed_key(period),
        message=f"Building the payouts of period {period} failed: {type(error).__name__}: {error}",
        actor=actor,
        subject=period,
        period=(period.start_date, period.end_date),
        details={"accounting_period": period.pk, "error": type(error).__name__},
        blocking=False,
    )
