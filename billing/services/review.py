"""The manual review queue: a person decides a period the retries could not (retry or waive)."""

from __future__ import annotations

from django.db import transaction

from billing import events
from billing.errors import BillingError
from billing.exception_kinds import RETRY_LIMIT_REACHED
from billing.locks import subscription_and_period_lock
from billing.models import BillingPeriod
from core.audit import save_audited
from core.clock import clock_now
from core.errors import CoreError
from core.fsm import transition_apply

DECISIONS = ("retry", "waive")


def period_decide(*, period: BillingPeriod, decision: str, comment: str, actor) -> BillingPeriod:
    """``retry``: one more attempt now (a new link expires the previous one); ``waive``: the
    period is not collected (entitlement is unchanged: an override is a separate decision)."""
    from billing.services.attempts import attempt_make

    if decision not in DECISIONS:
        raise BillingError.NOTHING_TO_DECIDE.error(fields={"decision": ["retry or waive."]})
    if not comment or not comment.strip():
        raise CoreError.REASON_REQUIRED.error(fields={"comment": ["This field is required."]})
    _record_decision(period.pk, decision=decision, comment=comment.strip(), actor=actor)
    if decision == "retry":
        attempt_make(period=period, actor=actor, manual=True)
    return BillingPeriod.objects.get(pk=period.pk)


@transaction.atomic
def _record_decision(period_id: int, *, decision: str, comment: str, actor) -> None:
    from exceptionqueue.services import exception_clear

    subscription, period = subscription_and_period_lock(period_id)
    if period.status != BillingPeriod.Status.MANUAL_REVIEW:
        raise BillingError.PERIOD_NOT_IN_REVIEW.error(
            f"Period {period.pk} is {period.status}, not in manual review."
        )
    now = clock_now(subscription.organization)
    events.noted(
        subscription,
        kind=f"review_{decision}",
        actor=actor,
        now=now,
        period=period,
        comment=comment,
    )
    if decision == "waive":
        transition_apply(period, "mark_waived", what="billing period")
        save_audited(period, actor=actor, reason=f"waived: {comment}")
        events.period_changed(
            period, subscription=subscription, actor=actor, now=now, comment=comment
        )
        exception_clear(
            organization=subscription.organization,
            dedup_key=f"{RETRY_LIMIT_REACHED}:period:{period.pk}",
            actor=actor,
            note=f"waived: {comment}",
        )


def review_case_close_guard(case) -> None:
    """A ``retry_limit_reached`` case is answered by the period's decision (retry or waive;
    waive clears it) while its period is in manual review: a bare resolve or dismiss then is
    refused, the period would stay uncollected and undecided. Once the period has left manual
    review (a retry was made), the case closes with a note. Registered in ``BillingConfig``."""
    period = BillingPeriod.objects.filter(
        organization_id=case.organization_id, pk=case.subject_id
    ).first()
    if period is not None and period.status == BillingPeriod.Status.MANUAL_REVIEW:
        raise BillingError.DECIDED_BY_REVIEW_DECISION.error(
            f"Period {period.number} of subscription #{period.subscription_id} is in manual "
            f"review: decide it (retry or waive) in the admin or with POST billing-periods/"
            f"{period.pk}/decision/; the decision resolves this case."
        )
