"""Payment events: the append-only ``PaymentEvent`` rows and the announcement of a change.

``payment_event_record`` is the one writer of ``PaymentEvent`` rows (every kind goes through it,
with the payment's state after the change); ``payment_announce`` tells the domains (the payment
hooks, synchronously, in the same transaction) and writes the webhook outbox row
(``payment.<kind>``) with ``payment_webhook_data``.
"""

from __future__ import annotations

from decimal import Decimal

from core.money import round_money
from payments import hooks
from payments.models import Payment, PaymentEvent, Refund


def payment_event_record(
    payment: Payment, *, kind: str, actor, from_status: str = "", **fields
) -> PaymentEvent:
    """Append one event of ``kind`` to the payment's trail (``to_status`` is its state now)."""
    return PaymentEvent.objects.create(
        organization_id=payment.organization_id,
        payment=payment,
        kind=kind,
        from_status=from_status,
        to_status=payment.status,
        actor=actor,
        **fields,
    )


def payment_webhook_data(payment: Payment, refund: Refund | None = None) -> dict:
    """The ``data`` of a ``payment.*`` webhook (with the refund, for ``payment.refunded``)."""
    data = {
        "id": payment.pk,
        "status": payment.status,
        "provider": payment.provider,
        "provider_reference": payment.provider_reference or "",
        "order_number": payment.order_number,
        "purpose": payment.purpose,
        "branch": payment.branch.code,
        "amount": str(payment.amount),
        "currency": payment.currency,
        "refunded_amount": str(payment.refunded_amount),
        "verified_at": payment.verified_at.isoformat() if payment.verified_at else None,
    }
    if refund is not None:
        data["refund"] = {
            "id": refund.pk,
            "amount": str(refund.amount),
            "currency": refund.currency,
            "status": refund.status,
        }
    return data


def payment_announce(payment: Payment, kind: str, *, actor, refund: Refund | None = None) -> None:
    """Tell the domains (synchronously, same transaction) and write the webhook outbox row."""
    from webhooks.services import event_emit

    hooks.notify(hooks.PaymentChange(payment=payment, kind=kind, refund=refund, actor=actor))
    event_emit(
        organization=payment.organization,
        event_type=f"payment.{kind}",
        subject="payment",
        subject_id=payment.pk,
        data=payment_webhook_data(payment, refund),
        dedup=f"refund:{refund.pk}" if refund is not None else kind,
    )


def money_text(amount: Decimal, currency: str) -> str:
    """Amounts in messages: always with the currency's decimals ("200.00", on every database)."""
    return str(round_money(Decimal(amount), currency))
