"""Reads for provider payments."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import DecimalField, F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from payments.models import Payment, ProviderAccount, Refund

_MONEY = DecimalField(max_digits=20, decimal_places=2)


def provider_account_get(*, organization, provider: str) -> ProviderAccount | None:
    return ProviderAccount.objects.filter(
        organization=organization, provider=provider, is_active=True
    ).first()


def payment_list(*, organization):
    return Payment.objects.filter(organization=organization).select_related("branch")


def payment_pending_refund_amount(*, payment: Payment) -> Decimal:
    """The amount reserved by pending refunds (sent to the gateway, outcome not yet known)."""
    total = Refund.objects.filter(payment=payment, status=Refund.Status.PENDING).aggregate(
        total=Sum("amount")
    )["total"]
    return total or Decimal("0.00")


def payment_refundable_amount(*, payment: Payment) -> Decimal:
    """What may still leave: amount - succeeded refunds - pending refunds.

    Anything counting a payment's money as kept (payouts) should use this, not
    ``amount - refunded_amount``: a pending refund may already have moved the money.
    """
    return payment.amount - payment.refunded_amount - payment_pending_refund_amount(payment=payment)


def payments_with_refund_reservations(queryset):
    """``queryset`` of payments annotated with ``pending_refund_amount`` (sum of pending refunds)
    and ``kept_amount`` (amount - refunded_amount - pending_refund_amount), one subquery per row
    (safe to combine with other joins and aggregates)."""
    pending = (
        Refund.objects.filter(payment=OuterRef("pk"), status=Refund.Status.PENDING)
        .order_by()
        .values("payment")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return queryset.annotate(
        pending_refund_amount=Coalesce(
            Subquery(pending, output_field=_MONEY), Value(Decimal("0.00"), output_field=_MONEY)
        )
    ).annotate(kept_amount=F("amount") - F("refunded_amount") - F("pending_refund_amount"))
