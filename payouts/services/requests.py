"""Payout requests: one recipient's verified QR payments of a range in one currency, minus the
refunds carried to it, as one payout (steps: check, lock, select, compute, persist, announce)."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from django.db import IntegrityError, transaction

from core.audit import save_audited
from core.errors import CoreError, DomainError
from payouts import events, locks, selectors
from payouts.errors import PayoutError
from payouts.models import Payout, PayoutLine, Recipient
from payouts.services.amounts import adjustments_fit, currency_check, payout_recompute
from payouts.services.cases import request_refused_case_raise

logger = logging.getLogger(__name__)

Line = PayoutLine.Kind
# Refusals listed as exception cases (after the request's own transaction rolled back).
LISTED_REFUSALS = (PayoutError.NO_VERIFIED_PAYMENTS.code, PayoutError.DUPLICATE_ACTIVE_PAYOUT.code)


def payout_request(
    *,
    recipient: Recipient,
    currency: str,
    period_start: dt.date,
    period_end: dt.date,
    actor,
    comment: str = "",
) -> Payout:
    """Request the payout of ``recipient``'s verified QR payments in the inclusive local range.

    Refusals that are listed as exception cases (``no_verified_payments``,
    ``duplicate_active_payout``) are raised after the request's own transaction rolled back.
    """
    scope = {
        "recipient": recipient,
        "currency": currency,
        "period_start": period_start,
        "period_end": period_end,
    }
    try:
        return _payout_request(**scope, actor=actor, comment=comment)
    except DomainError as exc:
        if exc.code in LISTED_REFUSALS:
            request_refused_case_raise(exc, **scope, actor=actor)
        raise


def _duplicate(recipient, currency) -> DomainError:
    return PayoutError.DUPLICATE_ACTIVE_PAYOUT.error(
        f"An active payout of recipient {recipient.pk} in {currency} overlaps this range."
    )


@transaction.atomic
def _payout_request(*, recipient, currency, period_start, period_end, actor, comment) -> Payout:
    _input_check(currency=currency, period_start=period_start, period_end=period_end)
    recipient = _scope_lock(recipient, currency, period_start, period_end)
    payments = _payments_select(recipient, currency, period_start, period_end)
    payout, adjustments = _payout_compute(
        recipient, currency, period_start, period_end, payments, actor=actor
    )
    _payout_persist(payout, payments, adjustments, actor=actor)
    events.requested(
        payout,
        actor=actor,
        comment=comment,
        payments=[p.pk for p in payments],
        adjustments=[a.pk for a in adjustments],
    )
    return payout


def _input_check(*, currency, period_start, period_end) -> None:
    if period_end < period_start:
        raise PayoutError.INVALID_PERIOD.error(
            "period_end is before period_start.",
            fields={"period_end": ["Must not be before period_start."]},
        )
    currency_check(currency)


def _scope_lock(recipient, currency, period_start, period_end) -> Recipient:
    """Lock the recipient (the scope's lock: concurrent requests for it queue here), then refuse
    an inactive recipient, a closed period and an overlapping active payout."""
    organization = recipient.organization
    recipient = locks.recipient_lock(recipient)
    recipient.organization = organization
    if not recipient.is_active:
        raise PayoutError.RECIPIENT_INACTIVE.error("The recipient is inactive.")
    closed = selectors.closed_period_overlapping(
        organization=organization, start=period_start, end=period_end
    )
    if closed is not None:
        raise CoreError.PERIOD_CLOSED.error(_period_closed_message(closed))
    if (
        selectors.active_payouts_overlapping(
            organization=organization, start=period_start, end=period_end
        )
        .filter(recipient=recipient, branch=recipient.branch, currency=currency)
        .exists()
    ):
        raise _duplicate(recipient, currency)
    return recipient


def _period_closed_message(period) -> str:
    named = f" ({period.name})" if period.name else ""
    return (
        f"The range falls in the closed {period.get_kind_display().lower()} period{named} "
        f"from {period.start_date} to {period.end_date}: its payouts are built by its close. "
        "Request a range outside it."
    )


def _payments_select(recipient, currency, period_start, period_end) -> list:
    """Lock and read the recipient's eligible payments (422 ``no_verified_payments`` if none)."""
    payments = list(
        locks.payments_lock(
            selectors.eligible_payments(
                organization=recipient.organization,
                start=period_start,
                end=period_end,
                recipient=recipient,
                currency=currency,
            )
        )
    )
    if not payments:
        raise PayoutError.NO_VERIFIED_PAYMENTS.error(
            f"No verified payments in {currency} for this recipient from {period_start} "
            f"to {period_end}."
        )
    return payments


def _payout_compute(recipient, currency, period_start, period_end, payments, *, actor):
    """The unsaved payout and the pending adjustments (locked) that fit in it."""
    organization = recipient.organization
    base = sum((p.available for p in payments), Decimal(0))
    adjustments = adjustments_fit(
        base,
        locks.adjustments_lock(
            organization=organization, recipient_ids=[recipient.pk], currency=currency
        ),
    )
    percentage, fixed = selectors.fee_policy_terms(organization=organization, currency=currency)
    payout = Payout(
        organization=organization,
        recipient=recipient,
        branch=recipient.branch,
        currency=currency,
        period_start=period_start,
        period_end=period_end,
        fee_percentage=percentage,
        fee_fixed=fixed,
        requested_by=actor,
        gross=Decimal(0),
        fee=Decimal(0),
        net=Decimal(0),
    )
    return payout, adjustments


def _payout_persist(payout: Payout, payments: list, adjustments: list, *, actor) -> None:
    """Write the payout and its lines (the database refuses a duplicate scope or a held payment),
    then its amounts from the lines."""
    try:
        with transaction.atomic():
            save_audited(payout, actor=actor, reason="payout requested")
            PayoutLine.objects.bulk_create(
                [
                    PayoutLine(payout=payout, kind=Line.PAYMENT, payment=p, amount=p.available)
                    for p in payments
                ]
                + [
                    PayoutLine(payout=payout, kind=Line.ADJUSTMENT, adjustment=a, amount=a.amount)
                    for a in adjustments
                ]
            )
    except IntegrityError as exc:  # the exclusion constraint, or a payment already held
        logger.info("payout request refused by the database: %s", exc)
        raise _duplicate(payout.recipient, payout.currency) from None
    payout_recompute(payout)
    save_audited(payout, actor=actor, reason="payout amounts")
