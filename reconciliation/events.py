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


def period_closed_announce(period: AccountingPeriod, *, figures: dict) -> None:
    """The ``accounting_period.closed`` webhook event, in the close transaction (outbox)."""
    from webhooks.services import event_emit

    event_emit(
        organization=period.organization,
        event_type="accounting_period.closed",
        subject="accounting_period",
        subject_id=period.pk,
        dedup=f"closed:{period.closed_at.isoformat() if period.closed_at else ''}",
        data={
            "id": period.pk,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "figures": figures,
        },
    )
