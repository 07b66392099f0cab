"""The payment state machine: its audit rows, hooks and webhook events."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import DomainError
from payments import services
from payments.models import Payment, PaymentEvent
from payments.providers.base import ProviderState
from payments.tests.factories import status_of
from webhooks.models import WebhookEvent


def test_verify_writes_one_event_hook_and_webhook(payment, system_user, changes):
    payment = services.payment_apply_status(
        payment=payment,
        status=status_of(payment, ProviderState.PAID),
        method=Payment.VerificationMethod.LOOKUP,
        actor=system_user,
    )
    assert payment.status == Payment.Status.VERIFIED
    assert payment.verified_at is not None
    assert payment.masked_pan == "408397**0021"
    assert payment.approval_code == "654321"
    # the same answer again changes nothing
    services.payment_apply_status(
        payment=payment,
        status=status_of(payment, ProviderState.PAID),
        method=Payment.VerificationMethod.LOOKUP,
        actor=system_user,
    )
    event = payment.events.get(kind=PaymentEvent.Kind.VERIFIED)
    assert (event.from_status, event.to_status, event.method) == ("pending", "verified", "lookup")
    assert event.actor == system_user
    assert [c.kind for c in changes] == ["verified"]
    assert changes[0].payment.pk == payment.pk
    assert changes[0].refund is None
    webhook = WebhookEvent.objects.get(event_type="payment.verified")
    assert webhook.data["amount"] == "1500.00"
    assert webhook.data["id"] == payment.pk


def test_states_only_move_forward(payment, system_user, changes):
    payment = services.payment_apply_status(
        payment=payment,
        status=status_of(payment, ProviderState.DECLINED, action_code="116"),
        method="lookup",
        actor=system_user,
    )
    assert payment.status == Payment.Status.DECLINED
    # a late "paid" does not resurrect a declined payment
    with pytest.raises(DomainError):
        services.payment_verify_manually(
            payment=payment, actor=system_user, comment="seen", reference="X"
        )
    payment.refresh_from_db()
    assert payment.status == Payment.Status.DECLINED
    assert [c.kind for c in changes] == ["declined"]
    assert WebhookEvent.objects.filter(event_type="payment.declined").count() == 1


def test_paid_with_another_amount_is_a_mismatch(payment, system_user):
    with pytest.raises(services.AmountMismatch):
        services.payment_apply_status(
            payment=payment,
            status=status_of(payment, ProviderState.PAID, amount=Decimal("15.00")),
            method="lookup",
            actor=system_user,
        )
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING


def test_expire(payment, system_user, changes):
    payment = services.payment_expire(payment=payment, actor=system_user)
    assert payment.status == Payment.Status.EXPIRED
    assert [c.kind for c in changes] == ["expired"]
    assert WebhookEvent.objects.filter(event_type="payment.expired").count() == 1


def test_manual_verification_needs_evidence_and_is_audited(payment, system_user):
    with pytest.raises(DomainError) as caught:
        services.payment_verify_manually(
            payment=payment, actor=system_user, comment=" ", reference=""
        )
    assert caught.value.code == "comment_required"
    payment = services.payment_verify_manually(
        payment=payment, actor=system_user, comment="Seen on the bank statement", reference="ST-9"
    )
    assert payment.verification_method == "manual"
    event = payment.events.get(kind="verified")
    assert event.comment == "Seen on the bank statement"
    assert event.reference == "ST-9"
    assert payment.history.first().history_change_reason == "verified (manual)"
