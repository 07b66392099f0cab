"""Test data for reconciliation: payments through the payments services, report files as bytes."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

from core.actors import system_actor
from payments.models import Payment
from payments.tests.factories import make_payment

COLUMNS = (
    "order_number",
    "provider_reference",
    "amount",
    "currency",
    "status",
    "paid_at",
    "refunded_amount",
    "fee",
)


def paid(
    organization,
    branch,
    amount: str,
    *,
    at: dt.datetime,
    provider: str = "arca",
    reference: str | None = None,
) -> Payment:
    """A verified payment of ``amount`` verified at ``at`` (aware), with a provider reference."""
    payment = make_payment(
        organization=organization, branch=branch, amount=amount, provider=provider, verified=True
    )
    Payment.objects.filter(pk=payment.pk).update(
        verified_at=at,
        created_at=at - dt.timedelta(minutes=2),
        provider_reference=reference or f"REF-{payment.pk:06d}",
    )
    payment.refresh_from_db()
    return payment


def row_of(payment: Payment, **overrides) -> dict:
    """The report row a correct provider report would hold for ``payment``."""
    status = {
        "verified": "paid",
        "partially_refunded": "partially_refunded",
        "refunded": "refunded",
    }.get(payment.status, "declined")
    row = {
        "order_number": payment.order_number,
        "provider_reference": payment.provider_reference or "",
        "amount": str(payment.amount),
        "currency": payment.currency,
        "status": status,
        "paid_at": (payment.verified_at or payment.created_at).isoformat(),
        "refunded_amount": str(payment.refunded_amount),
        "fee": str((payment.amount * Decimal("0.015")).quantize(Decimal("0.01"))),
    }
    row.update(overrides)
    return row


def report_bytes(rows: list[dict], columns=COLUMNS) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    return buffer.getvalue().encode()


def import_rows(organization, rows, *, provider="arca", name="report.csv"):
    from reconciliation.services import provider_report_import

    return provider_report_import(
        organization=organization,
        provider=provider,
        file=io.BytesIO(report_bytes(rows)),
        actor=system_actor("tests"),
        file_name=name,
    )


def local(organization, day: dt.date, hour: int = 12, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=organization.tz)


def completed_payout(
    organization,
    branch,
    net: str,
    *,
    reference: str,
    currency: str = "AMD",
    completed_at: dt.datetime | None = None,
):
    """A completed payout row (the payouts services' own flow is tested in payouts/)."""
    from django.utils import timezone

    from payouts.models import Payout, Recipient

    recipient = Recipient.objects.create(
        organization=organization, branch=branch, scope="team", name=f"Team {reference}"
    )
    completed_at = completed_at or timezone.now()
    return Payout.objects.create(
        organization=organization,
        recipient=recipient,
        branch=branch,
        currency=currency,
        period_start=completed_at.date(),
        period_end=completed_at.date(),
        status=Payout.Status.COMPLETED,
        gross=Decimal(net),
        fee=Decimal("0"),
        net=Decimal(net),
        method="bank_transfer",
        reference=reference,
        requested_by=system_actor("tests"),
        completed_at=completed_at,
    )


def late_money(organization, branch) -> dict:
    """Last month closed, then a refund of one of its payments and a late verification of
    another (both today), beside an ordinary payment and refund of this month.

    QR payments (a recipient and its QR code), so the money self-check covers them. Returns the
    periods, the payments, the late refund and what the money is: every settled payment's
    amount minus every succeeded refund, counted once.
    """
    from django.utils import timezone

    from payments.models import Payment, Refund
    from payments.services import payment_verify_manually
    from payouts import services as payouts
    from payouts.tests.factories import paid as qr_paid
    from payouts.tests.factories import refund
    from reconciliation.services import (
        accounting_period_close,
        accounting_period_create,
        accounting_period_month,
    )

    actor = system_actor("tests")
    today = timezone.localtime(timezone.now(), organization.tz).date()
    last_end = today.replace(day=1) - dt.timedelta(days=1)
    last_start = last_end.replace(day=1)
    recipient = payouts.recipient_create(
        organization=organization, scope="team", name="Ararat team", branch=branch, actor=actor
    )
    qr = payouts.qr_code_create(recipient=recipient, actor=actor)
    early = qr_paid(qr, "5000.00", day=last_start + dt.timedelta(days=6))
    kept = qr_paid(qr, "1000.00", day=last_start + dt.timedelta(days=9))
    early_refund = refund(kept, "100.00")
    Refund.objects.filter(pk=early_refund.pk).update(
        completed_at=local(organization, last_start + dt.timedelta(days=11))
    )
    late = payouts.qr_payment_create(
        qr_code=qr, amount=Decimal("700.00"), currency="AMD", actor=actor
    )
    Payment.objects.filter(pk=late.pk).update(created_at=local(organization, last_end, 20))
    last = accounting_period_create(
        organization=organization, start=last_start, end=last_end, actor=actor
    )
    accounting_period_close(period=last, actor=actor)
    # After the close: a refund of a payment of the closed month, and its late payment.
    late_refund = refund(early, "1200.00")
    payment_verify_manually(
        payment=Payment.objects.get(pk=late.pk), actor=actor, comment="bank", reference="B-7"
    )
    # This month's own money.
    current = qr_paid(qr, "300.00")
    refund(current, "50.00")
    this = accounting_period_month(organization=organization, day=today, actor=actor)
    return {
        "last": last,
        "this": this,
        "early": early,
        "late": Payment.objects.get(pk=late.pk),
        "late_refund": late_refund,
        "recipient": recipient,
        # 5000 + 1000 + 700 + 300 verified; 100 + 1200 + 50 refunded
        "money": Decimal("5650.00"),
    }
