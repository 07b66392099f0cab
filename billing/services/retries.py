"""Failures, retries and manual review.

A failed attempt keeps a safe reason (our code and the gateway's action code, never card data).
A reason the organisation retries (by default insufficient funds, technical error, expired
link) waits ``retry_delays_hours`` for the next attempt, up to ``max_attempts``; a hard decline,
a reason not retried, or the last allowed attempt moves the period to manual review and lists
``retry_limit_reached``. Each failure may send a dunning reminder (``billing.services.dunning``).
"""

from __future__ import annotations

import datetime as dt

from billing import events
from billing.exception_kinds import RETRY_LIMIT_REACHED
from billing.models import Attempt, BillingPeriod, Subscription
from billing.services.settings import billing_settings_get, retry_delay_hours
from core.audit import save_audited
from core.fsm import transition_apply

INSUFFICIENT_FUNDS = "insufficient_funds"
TECHNICAL_ERROR = "technical_error"
LINK_EXPIRED = "link_expired"
DECLINED = "declined"

# BPC / ArCa action codes (Ameria's are the same numbers with a leading 0): 116 insufficient
# funds; 909-912 and -2006 / -2005 processing, issuer or network faults; -2007 the payment
# session expired. Any other decline is a hard decline.
INSUFFICIENT_FUNDS_CODES = {"116", "0116", "51"}
TECHNICAL_CODES = {"909", "910", "911", "912", "913", "-2005", "-2006", "96"}
EXPIRED_CODES = {"-2007", "0-2007"}


def failure_reason(*, kind: str, action_code: str) -> str:
    """Our failure code for a payment that did not pay (kind: ``declined`` or ``expired``)."""
    code = (action_code or "").strip()
    if kind == "expired" or code in EXPIRED_CODES:
        return LINK_EXPIRED
    if code in INSUFFICIENT_FUNDS_CODES:
        return INSUFFICIENT_FUNDS
    if not code or code in TECHNICAL_CODES:
        return TECHNICAL_ERROR  # no answer from the card's bank is not a decision about it
    return DECLINED


def attempt_failed(
    attempt: Attempt,
    *,
    period: BillingPeriod,
    subscription: Subscription,
    reason: str,
    action_code: str,
    actor,
    now: dt.datetime,
) -> None:
    """Record the failure and decide: retry later, or manual review. Callers hold the locks."""
    from billing.services.dunning import reminder_queue

    attempt.status = Attempt.Status.FAILED
    attempt.failure_code = reason
    attempt.failure_action_code = (action_code or "")[:32]
    attempt.finished_at = now
    save_audited(attempt, actor=actor, reason=f"failed: {reason}")
    period.last_failure_code = reason
    period.last_failure_action_code = attempt.failure_action_code
    settings = billing_settings_get(organization=subscription.organization)
    retried = reason in settings.retry_reasons
    if retried and attempt.number < settings.max_attempts:
        transition_apply(period, "mark_retrying", what="billing period")
        period.next_retry_at = now + dt.timedelta(hours=retry_delay_hours(settings, attempt.number))
        comment = f"attempt {attempt.number} failed ({reason}); next try {period.next_retry_at}"
    else:
        transition_apply(period, "mark_manual_review", what="billing period")
        period.next_retry_at = None
        why = "hard decline" if not retried else f"retry limit of {settings.max_attempts} reached"
        comment = f"attempt {attempt.number} failed ({reason}): {why}"
        _list_review(period, subscription=subscription, actor=actor, comment=comment)
    save_audited(period, actor=actor, reason=comment)
    events.period_changed(
        period,
        subscription=subscription,
        actor=actor,
        now=now,
        comment=comment,
        data={"attempt": attempt.pk, "reason": reason, "action_code": attempt.failure_action_code},
    )
    if subscription.status in (Subscription.Status.TRIALING, Subscription.Status.ACTIVE):
        from billing.services.subscriptions import subscription_move

        subscription_move(subscription, "mark_past_due", actor=actor, now=now, comment=comment)
    reminder_queue(period, subscription=subscription, actor=actor, now=now)


def _list_review(period: BillingPeriod, *, subscription: Subscription, actor, comment: str):
    from exceptionqueue.services import exception_raise

    exception_raise(
        organization=subscription.organization,
        kind=RETRY_LIMIT_REACHED,
        dedup_key=f"retry_limit_reached:period:{period.pk}",
        message=f"Subscription {subscription.pk}, period {period.number} "
        f"({period.start}..{period.end}): {comment}. Decide in the manual review queue.",
        actor=actor,
        subject=period,
        branch=subscription.branch,
        amount=period.expected_amount - period.verified_amount,
        currency=period.currency,
        details={
            "subscription": subscription.pk,
            "period": period.pk,
            "reason": period.last_failure_code,
            "action_code": period.last_failure_action_code,
            "period_start": period.start.isoformat(),
            "period_end": period.end.isoformat(),
        },
    )
