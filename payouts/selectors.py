"""Reads of Smart QR payouts."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum

from core.models import Organization
from core.money import round_money
from payments.models import Payment
from payouts.fees import fee_compute
from payouts.models import Payout, PayoutLine, PayoutPeriod, Recipient


def recipient_list(*, organization: Organization) -> QuerySet[Recipient]:
    return Recipient.objects.filter(organization=organization).select_related("branch")


def recipient_get(*, organization: Organization, pk: int) -> Recipient | None:
    """A recipient of ``organization``; another organisation's does not exist (None)."""
    return (
        recipient_list(organization=organization)
        .select_related("organization")
        .filter(pk=pk)
        .first()
    )


def payout_list(*, organization: Organization) -> QuerySet[Payout]:
    return Payout.objects.filter(organization=organization).select_related("branch", "organization")


def period_list(*, organization: Organization) -> QuerySet[PayoutPeriod]:
    return PayoutPeriod.objects.filter(organization=organization)


# --- figures for the admin (periods, lists, drift decisions) -------------------------------------


def payout_totals(*, payouts: QuerySet[Payout]) -> list[dict]:
    """Per currency, over the payouts that hold their payments (requested, processing,
    completed; cancelled and reversed ones pay nothing): ``currency``, ``payouts``, ``payments``,
    ``gross``, ``fee``, ``net``."""
    return list(
        payouts.filter(status__in=Payout.HOLDING_STATUSES)
        .order_by()
        .values("currency")
        .annotate(
            payouts=Count("id"),
            payments=Sum("payment_count"),
            gross=Sum("gross"),
            fee=Sum("fee"),
            net=Sum("net"),
        )
        .order_by("currency")
    )


def payout_status_counts(*, payouts: QuerySet[Payout]) -> dict[str, int]:
    """status -> number of payouts, every status listed (0 when none)."""
    counts = dict(payouts.order_by().values_list("status").annotate(n=Count("id")))
    return {status: counts.get(status, 0) for status in Payout.Status.values}


def period_figures(*, period: PayoutPeriod) -> dict:
    """What a period page shows: its payouts, their totals by currency and counts by status."""
    payouts = Payout.objects.filter(accounting_period=period).select_related("recipient", "branch")
    return {
        "payouts": payouts.order_by("recipient__name", "currency", "pk"),
        "totals": payout_totals(payouts=payouts),
        "status_counts": payout_status_counts(payouts=payouts),
    }


def payout_drift_preview(*, payout: Payout) -> dict:
    """What each drift decision would do to a held payout: the refunded amounts per payment
    (what the payout includes beyond what is left after refunds, less what was already carried),
    and the gross, fee and net after ``recalculate`` (``carry`` keeps them and deducts the total
    from the recipient's next payout). A read: the decision itself is
    ``payouts.services.payout_drift_decide``."""
    included: dict[int, Decimal] = defaultdict(Decimal)
    lines = payout.lines.filter(
        active=True, kind__in=[PayoutLine.Kind.PAYMENT, PayoutLine.Kind.REFUND]
    )
    for payment_id, amount in lines.values_list("payment_id", "amount"):
        included[payment_id] += amount
    carried: dict[int, Decimal] = defaultdict(Decimal)
    for payment_id, amount in payout.carried_adjustments.filter(void__isnull=True).values_list(
        "payment_id", "amount"
    ):
        carried[payment_id] += amount
    refunds = []
    for payment in Payment.objects.filter(pk__in=list(included)).order_by("pk"):
        drift = included[payment.pk] + carried[payment.pk] - payment.refundable_amount
        if drift > 0:
            refunds.append({"payment": payment, "amount": drift})
    total = sum((r["amount"] for r in refunds), Decimal(0))
    gross = max(round_money(payout.gross - total, payout.currency), Decimal(0))
    fee, net = fee_compute(
        gross=gross,
        currency=payout.currency,
        percentage=payout.fee_percentage,
        fixed=payout.fee_fixed,
    )
    return {
        "refunds": refunds,
        "total": total,
        "recalculate": {"gross": gross, "fee": fee, "net": net},
        "carry": {"gross": payout.gross, "fee": payout.fee, "net": payout.net},
    }
