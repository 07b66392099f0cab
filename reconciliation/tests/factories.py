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
