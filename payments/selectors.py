"""Reads for provider payments."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from payments.janitor import REFUND_STUCK_AFTER
from payments.models import Payment, ProviderAccount, Refund


def provider_account_get(*, organization, provider: str) -> ProviderAccount | None:
    return ProviderAccount.objects.filter(
        organization=organization, provider=provider, is_active=True
    ).first()


def payment_list(*, organization):
    """The organisation's payments, scoped with ``any_of`` so that the API's pages
    (``OrganizationCursorPagination``) read the organisation's index, not the primary key."""
    return Payment.objects.filter(organization_id__any_of=[organization.pk]).select_related(
        "branch"
    )


def payment_pending_refund_amount(*, payment: Payment) -> Decimal:
    """The amount reserved by pending refunds (in flight at the gateway, or outcome unknown)."""
    total = Refund.objects.filter(payment=payment, status=Refund.Status.PENDING).aggregate(
        total=Sum("amount")
    )["total"]
    return total or Decimal("0.00")


def payment_refundable_amount(*, payment: Payment) -> Decimal:
    """What may still be refunded: amount - succeeded refunds - pending refunds.

    The refund service's check (``payment_refund`` reserves under the payment's lock, so pass
    the locked row). This is not what a payment keeps for payouts: payouts deliberately count
    ``amount - refunded_amount`` and treat a pending refund that later succeeds through their
    drift rules (README "Pending refunds and payouts").
    """
    return payment.amount - payment.refunded_amount - payment_pending_refund_amount(payment=payment)


def refund_pending_amounts(*, payment_id: int) -> dict[int, Decimal]:
    """The payment's pending refunds: id -> amount (a snapshot to compare before and after a
    gateway lookup)."""
    return dict(
        Refund.objects.filter(payment_id=payment_id, status=Refund.Status.PENDING).values_list(
            "pk", "amount"
        )
    )


def refund_in_flight(refund: Refund, *, now=None) -> bool:
    """True while the refund's gateway call may still be running: no lookup may settle it yet.

    ``payment_refund`` stamps ``call_ended_at`` when the gateway answered (a result or an error,
    not a timeout after sending); a refund without it younger than ``REFUND_STUCK_AFTER`` is in
    flight (older: the gateway had its time, or the worker died mid-call)."""
    now = now or timezone.now()
    return refund.call_ended_at is None and refund.created_at > now - REFUND_STUCK_AFTER
