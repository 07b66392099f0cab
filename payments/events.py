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


def payment_created_record(payment: Payment, *, actor) -> PaymentEvent:
    """``created``: the payment and its amount."""
    return payment_event_record(
        payment,
        kind=PaymentEvent.Kind.CREATED,
        actor=actor,
        amount=payment.amount,
        currency=payment.currency,
    )


def payment_created_record_many(payments: list[Payment], *, actor) -> list[PaymentEvent]:
    """``created`` for many new payments at once (one INSERT): the rows of
    ``payment_created_record``."""
    return PaymentEvent.objects.bulk_create(
        [
            PaymentEvent(
                organization_id=payment.organization_id,
                payment=payment,
                kind=PaymentEvent.Kind.CREATED,
                from_status="",
                to_status=payment.status,
                actor=actor,
                amount=payment.amount,
                currency=payment.currency,
            )
            for payment in payments
        ]
    )


def payment_order_registered_record(payment: Payment, *, actor) -> PaymentEvent:
    """``order_registered``: the gateway's reference of the order."""
    return payment_event_record(
        payment,
        kind=PaymentEvent.Kind.ORDER_REGISTERED,
        actor=actor,
        from_status=payment.status,
        reference=payment.provider_reference or "",
    )


def payment_late_record(payment: Payment, *, status, method: str, actor) -> PaymentEvent:
    """``late_payment``: the gateway says paid, the payment already expired or was declined
    (the amount is the gateway's)."""
    return payment_event_record(
        payment,
        kind=PaymentEvent.Kind.LATE_PAYMENT,
        actor=actor,
        from_status=payment.status,
        amount=status.amount,
        currency=status.currency,
        method=method,
        reference=status.provider_reference or payment.provider_reference or "",
        data={"gateway_state": str(status.state), "paid_at": status.paid_at},
    )


def payment_state_record(
    payment: Payment,
    *,
    kind: str,
    actor,
    from_status: str,
    method: str,
    reference: str,
    comment: str = "",
    data: dict | None = None,
) -> PaymentEvent:
    """``verified`` / ``declined`` / ``expired`` (the payment's new state and its amount),
    announced to the domains and the webhook outbox as ``payment.<kind>``."""
    event = payment_event_record(
        payment,
        kind=kind,
        actor=actor,
        from_status=from_status,
        amount=payment.amount,
        currency=payment.currency,
        method=method,
        reference=reference,
        comment=comment,
        data=data or {},
    )
    payment_announce(payment, kind, actor=actor)
    return event


def refund_event_record(
    payment: Payment,
    refund: Refund,
    *,
    kind: str,
    actor,
    from_status: str,
    method: str = "",
    comment: str = "",
    data: dict | None = None,
) -> PaymentEvent:
    """``refund_requested`` / ``refund_failed`` / ``refund_succeeded`` / ``refund_corrected``:
    the refund, its amount and reference. A refund that moved money (succeeded, corrected) is
    announced as ``payment.refunded``."""
    event = payment_event_record(
        payment,
        kind=kind,
        actor=actor,
        from_status=from_status,
        refund=refund,
        amount=refund.amount,
        currency=refund.currency,
        method=method,
        reference=refund.provider_reference,
        comment=comment,
        data=data or {},
    )
    if kind in (PaymentEvent.Kind.REFUND_SUCCEEDED, PaymentEvent.Kind.REFUND_CORRECTED):
        payment_announce(payment, "refunded", actor=actor, refund=refund)
    return event


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
