"""The lock order of payouts, and the helpers that take locks in it (services lock only here).

Locking order (to stay free of deadlocks), everywhere: the accounting period row, then recipient
rows (by id, ``FOR NO KEY UPDATE``), then payment rows (by id), then pending adjustment rows; a
payout row is locked alone, and after it only the adjustments carried from it (cancel, reversal).
A refund (payments) locks its payment and then, through ``on_payment_change``, the payout that
holds it; nothing here locks a payment after a payout, or a period after a recipient.

Recipients are locked ``FOR NO KEY UPDATE``: their key never changes, so inserting a payout or a
line that references them (``KEY SHARE``) does not wait on the lock.
"""

from __future__ import annotations

from django.db.models import QuerySet

from core.models import Organization
from payouts import selectors
from payouts.models import FeePolicy, Payout, PayoutAdjustment, PayoutPeriod, Recipient


def organization_lock(organization: Organization) -> None:
    """Serialise the creation of an organisation's accounting periods."""
    Organization.objects.select_for_update().filter(pk=organization.pk).first()


def period_lock(period: PayoutPeriod) -> PayoutPeriod:
    """The accounting period row, first in the order."""
    return (
        PayoutPeriod.objects.select_for_update(of=("self",))
        .select_related("organization")
        .get(pk=period.pk)
    )


def recipients_lock(organization_id: int, ids=None) -> dict[int, Recipient]:
    """Every recipient of the organisation (or those of ``ids``: one batch of a period's build),
    by id, ``FOR NO KEY UPDATE``, with its branch."""
    qs = Recipient.objects.select_for_update(of=("self",), no_key=True).filter(
        organization_id=organization_id
    )
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return {r.pk: r for r in qs.select_related("branch").order_by("pk")}


def recipient_lock(recipient: Recipient) -> Recipient:
    """One recipient (``FOR NO KEY UPDATE``): the lock of its payout scope."""
    return (
        Recipient.objects.select_for_update(of=("self",), no_key=True)
        .select_related("branch")
        .get(pk=recipient.pk)
    )


def payments_lock(payments: QuerySet) -> QuerySet:
    """Lock the given payment rows (by id) and read them in the same statement."""
    return payments.select_for_update(of=("self",)).order_by("pk")


def adjustments_lock(**kwargs) -> list[PayoutAdjustment]:
    """Lock the pending adjustments (by id), then read them again: a concurrent void or apply
    that committed while we waited is seen by the second statement (READ COMMITTED).
    ``kwargs`` are ``selectors.pending_adjustments``'s."""
    ids = list(
        selectors.pending_adjustments(**kwargs)
        .select_for_update(of=("self",))
        .values_list("pk", flat=True)
    )
    if not ids:
        return []
    return list(selectors.pending_adjustments(**kwargs).filter(pk__in=ids))


def payout_lock(payout: Payout | int) -> Payout:
    """One payout row, locked alone, with its organisation and branch."""
    pk = payout if isinstance(payout, int) else payout.pk
    return (
        Payout.objects.select_for_update(of=("self",))
        .select_related("organization", "branch")
        .get(pk=pk)
    )


def carried_adjustments_lock(payout: Payout) -> list[PayoutAdjustment]:
    """The adjustments carried from ``payout`` (after the payout row: cancel, reversal)."""
    return list(
        PayoutAdjustment.objects.select_for_update(of=("self",))
        .filter(source_payout=payout)
        .order_by("pk")
    )


def fee_policy_lock(organization: Organization, currency: str) -> FeePolicy | None:
    """The organisation's fee policy in ``currency`` (alone: no other lock is taken with it)."""
    return (
        FeePolicy.objects.select_for_update()
        .filter(organization=organization, currency=currency)
        .first()
    )
