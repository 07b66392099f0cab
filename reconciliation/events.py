"""One writer per reconciliation audit / webhook event kind."""

from __future__ import annotations

from core.models import AccountingPeriod
from reconciliation.models import AccountingPeriodEvent


def period_event(
    period: AccountingPeriod, *, action: str, actor, comment: str = "", data: dict | None = None
) -> AccountingPeriodEvent:
    return AccountingPeriodEvent.objects.create(
        period=period, action=action, actor=actor, comment=comment, data=data or {}
    )
