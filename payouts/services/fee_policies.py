"""Fee policies: the percentage and fixed fee an organisation takes from payouts per currency."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from core.audit import save_audited
from core.models import Organization
from core.money import round_money
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
    currency_check(currency)
    _terms_check(percentage, fixed)
    policy = (
        FeePolicy.objects.select_for_update()
        .filter(organization=organization, currency=currency)
        .first()
    ) or FeePolicy(organization=organization, currency=currency)
    policy.percentage = percentage
    policy.fixed = round_money(fixed, currency)
    save_audited(policy, actor=actor, reason="fee policy set")
    return policy
