"""Fee policies: the percentage and fixed fee an organisation takes from payouts per currency."""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction

from core.audit import save_audited
from core.models import Organization
from core.money import round_money
from payouts import locks
from payouts.errors import PayoutError
from payouts.models import FeePolicy
from payouts.services.amounts import currency_check


def _terms_check(percentage: Decimal, fixed: Decimal) -> None:
    bad = {
        name: [message]
        for name, wrong, message in (
            ("percentage", not Decimal(0) <= percentage <= Decimal(100), "0 to 100."),
            ("fixed", fixed < 0, "Not negative."),
        )
        if wrong
    }
    if bad:
        raise PayoutError.INVALID_FEE_POLICY.error(
            "Percentage is 0-100 and fixed is not negative.", fields=bad
        )


@transaction.atomic
def fee_policy_set(
    *, organization: Organization, currency: str, percentage: Decimal, fixed: Decimal, actor
) -> FeePolicy:
    """Set the organisation's fee in ``currency``: one row per currency, updated in place.

    Race-safe on the first call too: of two first calls at once, one inserts the row; the other
    waits on the unique index, then locks and updates the winner's row (never a 500)."""
    currency_check(currency)
    _terms_check(percentage, fixed)
    policy = locks.fee_policy_lock(organization, currency)
    fixed = round_money(fixed, currency)
    if policy is None:
        policy = FeePolicy(
            organization=organization, currency=currency, percentage=percentage, fixed=fixed
        )
        try:
            with transaction.atomic():  # a savepoint: the loser of a first-time race goes on
                save_audited(policy, actor=actor, reason="fee policy set")
            return policy
        except IntegrityError:  # another first call committed the row while we waited on it
            policy = locks.fee_policy_lock(organization, currency)
    policy.percentage = percentage
    policy.fixed = fixed
    save_audited(policy, actor=actor, reason="fee policy set")
    return policy
