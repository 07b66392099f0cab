"""Reads of Smart QR payouts (functions that change nothing)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.contrib.postgres.aggregates import ArrayAgg
from django.db import connection
from django.db.models import BooleanField, Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.db.models.expressions import RawSQL

from core.models import Organization
from core.money import round_money
from payments.models import Payment
from payouts.fees import fee_compute
from payouts.models import (
    FeePolicy,
    Payout,
    PayoutAdjustment,
    PayoutAdjustmentVoid,
    PayoutLine,
    PayoutPeriod,
    Recipient,
)

Line = PayoutLine.Kind
NO_FEE = (Decimal("0"), Decimal("0.00"))


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


def payout_lines(*, payout_id: int, kind: str | None = None) -> QuerySet[PayoutLine]:
    """A payout's lines (index ``payout_line_payout_id`` pages them by id), optionally of one
    kind."""
    qs = PayoutLine.objects.filter(payout_id=payout_id)
    return qs if kind is None else qs.filter(kind=kind)


def refund_deductions(*, payout_id: int, payment_ids: list[int]) -> dict[int, Decimal]:
    """payment id -> the refund deduction lines of ``payout_id`` on it (negative sums)."""
    out: dict[int, Decimal] = defaultdict(Decimal)
    for payment_id, amount in (
        payout_lines(payout_id=payout_id, kind=Line.REFUND)
        .filter(payment_id__in=payment_ids)
        .values_list("payment_id", "amount")
    ):
        out[payment_id] += amount
    return dict(out)


def period_list(*, organization: Organization) -> QuerySet[PayoutPeriod]:
    return PayoutPeriod.objects.filter(organization=organization)


def local_window(organization: Organization, start: dt.date, end: dt.date):
    """Inclusive local dates -> the half-open aware window [start 00:00, end+1 00:00)."""
    tz = organization.tz
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=tz),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz),
    )


def eligible_payments(
    *,
    organization: Organization,
    start: dt.date,
    end: dt.date,
    recipient=None,
    currency=None,
    unheld: bool = True,
    linked: bool = True,
) -> QuerySet:
    """Verified QR payments in the local date range that no holding payout line holds yet,
    with something left after refunds (annotated ``available``). ``unheld=False`` leaves out
    the "no holding line" condition (the caller checks it with ``payments_held``);
    ``linked=False`` leaves out the join to the QR link (``QrPayment``): only for payments
    whose ids come from a read of this queryset (a link is written with its payment and
    never changed or deleted), so that a batch of the build reads no link table."""
    window_start, window_end = local_window(organization, start, end)
    qs = Payment.objects.filter(
        organization=organization,
        status__in=Payment.SETTLED_STATUSES,
        verified_at__gte=window_start,
        verified_at__lt=window_end,
        amount__gt=F("refunded_amount"),
    ).annotate(available=F("amount") - F("refunded_amount"))
    if linked:
        qs = qs.filter(qr_payment__isnull=False)
    if unheld:
        held = PayoutLine.objects.filter(payment=OuterRef("pk"), kind=Line.PAYMENT, active=True)
        qs = qs.filter(~Exists(held))
    if recipient is not None:
        qs = qs.filter(qr_payment__recipient=recipient)
    if currency is not None:
        qs = qs.filter(currency=currency)
    return qs


def id_in(field: str, ids) -> Q:
    """``field`` among ``ids``: on PostgreSQL ``field IN (SELECT unnest(%s::bigint[]))`` with the
    ids as ONE array parameter (a batch of the build has ~50,000: ``IN (%s, ...)`` costs seconds
    to build and parse), elsewhere ``__in``."""
    ids = list(ids)
    if connection.vendor != "postgresql":
        return Q(**{f"{field}__in": ids})
    return Q(**{f"{field}__in": RawSQL("SELECT unnest(%s::bigint[])", [ids])})


def pk_any(model, ids) -> Q:
    """``pk = ANY(%s::bigint[])`` with the ids as one array parameter (PostgreSQL): the primary
    key index is walked once in id order (the array sorted, duplicates dropped), so the heap is
    read in its order and no sort follows for ``ORDER BY pk``. ``IN (SELECT unnest(...))`` is
    hashed first and probes in hash order. Elsewhere ``pk__in``."""
    ids = list(ids)
    if connection.vendor != "postgresql":
        return Q(pk__in=ids)
    qn = connection.ops.quote_name
    column = f"{qn(model._meta.db_table)}.{qn(model._meta.pk.column)}"
    sql = f"{column} = ANY(%s::bigint[])"
    return Q(RawSQL(sql, [ids], output_field=BooleanField()))  # noqa: S611 - names from the model


def payments_held(payment_ids) -> set[int]:
    """Which of ``payment_ids`` a holding payout line holds (``payout_line_payment_once``)."""
    return set(
        PayoutLine.objects.filter(id_in("payment_id", payment_ids))
        .filter(kind=Line.PAYMENT, active=True)
        .values_list("payment_id", flat=True)
    )


def eligible_ids_by_recipient(*, period: PayoutPeriod) -> list[tuple[int, list[int]]]:
    """``(recipient id, [eligible payment ids])`` of the period, recipients in id order: one
    grouped read (``array_agg`` on PostgreSQL: the ids come back as arrays, not as rows)."""
    qs = eligible_payments(
        organization=period.organization, start=period.start_date, end=period.end_date
    )
    if connection.vendor != "postgresql":
        out: dict[int, list[int]] = defaultdict(list)
        for recipient_id, pk in qs.order_by("qr_payment__recipient_id", "pk").values_list(
            "qr_payment__recipient_id", "pk"
        ):
            out[recipient_id].append(pk)
        return list(out.items())
    return list(
        qs.order_by()
        .values_list("qr_payment__recipient_id")
        .annotate(ids=ArrayAgg("pk", order_by="pk"))
        .order_by("qr_payment__recipient_id")
    )


def period_has_leftovers(*, period: PayoutPeriod) -> bool:
    """A closed, built period has eligible payments that no holding payout holds."""
    return eligible_payments(
        organization=period.organization, start=period.start_date, end=period.end_date
    ).exists()


def fee_policy_terms(*, organization: Organization, currency: str) -> tuple[Decimal, Decimal]:
    """``(percentage, fixed)`` of the organisation's fee policy in ``currency`` (none: no fee)."""
    policy = FeePolicy.objects.filter(organization=organization, currency=currency).first()
    if policy is None:
        return NO_FEE
    return policy.percentage, policy.fixed


def fee_policy_terms_by_currency(*, organization: Organization) -> dict[str, tuple]:
    """currency -> ``(percentage, fixed)`` for every fee policy of the organisation."""
    return {
        p.currency: (p.percentage, p.fixed)
        for p in FeePolicy.objects.filter(organization=organization)
    }


def pending_adjustments(*, organization, recipient_ids=None, currency=None) -> QuerySet:
    """Adjustments not applied by a holding payout line and not voided (oldest first)."""
    applied = PayoutLine.objects.filter(
        adjustment=OuterRef("pk"), kind=Line.ADJUSTMENT, active=True
    )
    voided = PayoutAdjustmentVoid.objects.filter(adjustment=OuterRef("pk"))
    qs = PayoutAdjustment.objects.filter(organization=organization).filter(
        ~Exists(applied), ~Exists(voided)
    )
    if recipient_ids is not None:
        qs = qs.filter(recipient_id__in=recipient_ids)
    if currency is not None:
        qs = qs.filter(currency=currency)
    return qs.order_by("id")


def closed_period_overlapping(
    *, organization: Organization, start: dt.date, end: dt.date
) -> PayoutPeriod | None:
    """The first closed accounting period that overlaps the inclusive range, if any."""
    return (
        PayoutPeriod.objects.filter(
            organization=organization,
            status=PayoutPeriod.Status.CLOSED,
            start_date__lte=end,
            end_date__gte=start,
        )
        .order_by("start_date")
        .first()
    )


def active_payouts_overlapping(*, organization: Organization, start: dt.date, end: dt.date):
    """Active payouts of the organisation whose range overlaps the inclusive range."""
    return Payout.objects.filter(
        organization=organization,
        status__in=Payout.ACTIVE_STATUSES,
        period_start__lte=end,
        period_end__gte=start,
    )


def applied_adjustments(payout: Payout) -> list[PayoutAdjustment]:
    """The carried adjustments an active line of ``payout`` applies (oldest first)."""
    return list(
        PayoutAdjustment.objects.filter(
            lines__payout=payout, lines__active=True, lines__kind=Line.ADJUSTMENT
        ).order_by("id")
    )


def payouts_applying(adjustment_ids: list[int]) -> list[int]:
    """Ids of the payouts whose active lines apply any of the given adjustments."""
    return sorted(
        set(
            PayoutLine.objects.filter(
                adjustment_id__in=adjustment_ids, kind=Line.ADJUSTMENT, active=True
            ).values_list("payout_id", flat=True)
        )
    )


def payment_lines(payment) -> QuerySet[PayoutLine]:
    """The payment lines of ``payment`` in any payout, active or released (newest first).

    Written as its two arms so that each uses its partial index (``payout_line_payment_once``
    for the active line, ``payout_line_payment_other`` for released ones)."""
    return (
        PayoutLine.objects.filter(payment=payment, kind=Line.PAYMENT)
        .filter(Q(active=True) | Q(active=False))
        .select_related("payout")
        .order_by("-active", "-pk")
    )


def payout_drift_by_payment(payout: Payout) -> dict[int, tuple]:
    """payment id -> (payment, drift): what the payout includes for it beyond what is left after
    refunds, minus what was already carried to later payouts."""
    lines = payout.lines.filter(active=True, kind__in=[Line.PAYMENT, Line.REFUND])
    included: dict[int, Decimal] = defaultdict(Decimal)
    for payment_id, amount in lines.values_list("payment_id", "amount"):
        included[payment_id] += amount
    carried: dict[int, Decimal] = defaultdict(Decimal)
    for payment_id, amount in payout.carried_adjustments.filter(void__isnull=True).values_list(
        "payment_id", "amount"
    ):
        carried[payment_id] += amount
    out = {}
    for payment in Payment.objects.filter(pk__in=list(included)):
        drift = (
            included[payment.pk] + carried[payment.pk] - (payment.amount - payment.refunded_amount)
        )
        if drift > 0:
            out[payment.pk] = (payment, drift)
    return out


def payout_held_by_drift(*, organization_id: int, payout_id) -> Payout | None:
    """The processing payout ``payout_id`` if its completion is held by refund drift."""
    if not str(payout_id or "").isdigit():
        return None
    return Payout.objects.filter(
        pk=int(payout_id),
        organization_id=organization_id,
        status=Payout.Status.PROCESSING,
        drift_hold=True,
    ).first()


# --- figures for the admin (periods, lists, drift decisions) -------------------------------------


def payout_totals(*, payouts: QuerySet[Payout]) -> list[dict]:
    """Per currency, over the payouts that hold their payments (requested, processing,
    completed; cancelled and reversed ones pay nothing): ``currency``, ``payouts``, ``payments``,
    ``gross``, ``fee``, ``net`` (rounded to the currency's minor unit: SQLite's SUM drops the
    places, and the admin showed ``205000`` beside rows of ``6500.00``)."""
    rows = list(
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
    for row in rows:
        for name in ("gross", "fee", "net"):
            row[name] = round_money(Decimal(row[name]), row["currency"])
    return rows


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
    (``payout_drift_by_payment``, the same figures the decision uses), and the gross, fee and net
    after ``recalculate`` (``carry`` keeps them and deducts the total from the recipient's next
    payout). A read: the decision itself is ``payouts.services.payout_drift_decide``."""
    drift = payout_drift_by_payment(payout)
    refunds = [
        {"payment": payment, "amount": amount} for _, (payment, amount) in sorted(drift.items())
    ]
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
