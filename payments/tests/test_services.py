"""The payment state machine, its audit rows, hooks and webhook events; refunds."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.actors import system_actor
from core.errors import DomainError
from payments import hooks, services
from payments.models import Payment, PaymentEvent, Refund
from payments.providers.base import ProviderState, StatusResult
from payments.tests.conftest import decide, registered
from payments.tests.factories import make_payment
from webhooks.models import WebhookEvent


def status_of(payment, state, **overrides) -> StatusResult:
    values = {
        "state": state,
        "provider_reference": payment.provider_reference or "",
        "order_number": payment.order_number,
        "amount": payment.amount,
        "currency": payment.currency,
        "masked_pan": "408397**0021",
        "approval_code": "654321",
    }
    values.update(overrides)
    return StatusResult(**values)


@pytest.fixture
def changes():
    seen: list[hooks.PaymentChange] = []
    hooks.subscribe(seen.append)
    yield seen
    hooks.unsubscribe(seen.append)


def test_payment_create_is_pending_with_an_audit_row(payment, system_user):
    assert payment.status == Payment.Status.PENDING
    assert payment.order_number.startswith("PO")
    assert payment.expires_at > payment.created_at
    assert list(payment.events.values_list("kind", flat=True)) == ["created"]
    assert payment.history.count() == 1


def test_payment_create_refuses_a_branch_of_another_organisation(
    organization, other_organization, system_user
):
    from core.models import Branch

    foreign = Branch.objects.create(organization=other_organization, code="x", name="X")
    with pytest.raises(DomainError) as caught:
        services.payment_create(
            organization=organization,
            branch=foreign,
            provider="sandbox",
            purpose="qr",
            amount=Decimal("10"),
            currency="AMD",
            actor=system_user,
        )
    assert caught.value.code == "branch_not_found"


def test_ameria_order_numbers_are_numeric(organization, branch):
    payment = make_payment(organization=organization, branch=branch, provider="ameria")
    assert payment.order_number.startswith("AM")
    assert payment.order_number[2:].isdigit()
    assert int(payment.order_number[2:]) <= 2_147_483_647


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


def test_refund_partial_then_rest(payment, system_user, changes):
    payment, order = registered(payment, system_user)
    decide(order)
    payment = services.payment_check_status(payment=payment, actor=system_user)
    assert payment.status == Payment.Status.VERIFIED
    refund = services.payment_refund(
        payment=payment, amount=Decimal("500.00"), reason="cold coffee", actor=system_user
    )
    assert refund.status == Refund.Status.SUCCEEDED
    assert refund.currency == "AMD"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PARTIALLY_REFUNDED
    assert payment.refunded_amount == Decimal("500.00")
    order.refresh_from_db()
    assert order.refunded_minor == 50000
    services.payment_refund(
        payment=payment, amount=Decimal("1000.00"), reason="rest", actor=system_user
    )
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REFUNDED
    assert [c.kind for c in changes] == ["verified", "refunded", "refunded"]
    assert changes[-1].refund is not None
    assert WebhookEvent.objects.filter(event_type="payment.refunded").count() == 2
    kinds = list(payment.events.values_list("kind", flat=True))
    assert kinds == [
        "created",
        "order_registered",
        "verified",
        "refund_requested",
        "refund_succeeded",
        "refund_requested",
        "refund_succeeded",
    ]


def test_refund_cannot_exceed_the_payment(payment, system_user):
    payment = services.payment_verify_manually(
        payment=payment, actor=system_user, comment="x", reference="y"
    )
    with pytest.raises(DomainError) as caught:
        services.payment_refund(
            payment=payment, amount=Decimal("1500.01"), reason="too much", actor=system_user
        )
    assert caught.value.code == "refund_exceeds_payment"
    assert not Refund.objects.exists()


def test_refund_of_a_pending_payment_is_refused(payment, system_user):
    with pytest.raises(DomainError) as caught:
        services.payment_refund(
            payment=payment, amount=Decimal("1"), reason="no", actor=system_user
        )
    assert caught.value.code == "payment_not_refundable"


def test_refund_refused_by_the_gateway_releases_the_reservation(payment, system_user):
    # Verified manually: the sandbox order was never paid, so the gateway refuses the refund.
    payment, _ = registered(payment, system_user)
    payment = services.payment_verify_manually(
        payment=payment, actor=system_user, comment="x", reference="y"
    )
    refund = services.payment_refund(
        payment=payment, amount=Decimal("100.00"), reason="try", actor=system_user
    )
    assert refund.status == Refund.Status.FAILED
    assert refund.failure_code == "7"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.VERIFIED
    assert payment.refunded_amount == 0
    assert payment.events.filter(kind="refund_failed").count() == 1


def test_sandbox_pay_round_trip_in_process(organization, branch, system_user, changes):
    approved = make_payment(organization=organization, branch=branch, amount="2000.00")
    approved = services.sandbox_pay(payment=approved, outcome="approved", actor=system_user)
    assert approved.status == Payment.Status.VERIFIED
    assert approved.verification_method == Payment.VerificationMethod.CALLBACK_LOOKUP
    assert approved.callbacks.get().status == "processed"
    declined = make_payment(organization=organization, branch=branch, amount="2000.00")
    declined = services.sandbox_pay(payment=declined, outcome="declined", actor=system_user)
    assert declined.status == Payment.Status.DECLINED
    assert declined.action_code == "116"
    assert [c.kind for c in changes] == ["verified", "declined"]


def test_sandbox_pay_refused_when_the_sandbox_is_off(payment, system_user, settings):
    settings.PAYOPS_SANDBOX = False
    with pytest.raises(DomainError) as caught:
        services.sandbox_pay(payment=payment, outcome="approved", actor=system_user)
    assert caught.value.code == "sandbox_disabled"
    assert caught.value.status_code == 404


def test_gateways_without_an_order_reference_register_many_orders(organization, branch):
    """Idram gives no reference before its callback: both orders register (NULL, not '')."""
    from payments.models import ProviderAccount
    from payments.services import payment_register_order

    ProviderAccount.objects.create(
        organization=organization,
        provider=Payment.Provider.IDRAM,
        merchant_id="110000601",
        secret_key="idram-secret",
    )
    registered = []
    for amount in ("1500.00", "2500.00"):
        payment = make_payment(
            organization=organization, branch=branch, amount=amount, provider="idram"
        )
        payment = payment_register_order(payment=payment, actor=system_actor("tests"))
        assert payment.provider_reference is None
        assert payment.payment_url
        registered.append(payment)
    assert Payment.objects.filter(provider="idram", provider_reference__isnull=True).count() == 2


# -- the janitor's expiry re-checks under the lock; gateway windows --------------------------------


def test_janitor_expiry_after_a_concurrent_verification_returns_quietly(
    organization, branch, system_user
):
    from datetime import timedelta

    from django.utils import timezone

    from payments.providers.base import ProviderError

    payment = make_payment(organization=organization, branch=branch)
    Payment.objects.filter(pk=payment.pk).update(expires_at=timezone.now() - timedelta(hours=1))

    class Gateway:
        class capabilities:
            status_lookup = True

        def status(self, **kwargs):
            # A callback verifies the payment while the janitor waits for the gateway.
            services.payment_verify_manually(
                payment=payment, actor=system_user, comment="callback", reference="CB"
            )
            raise ProviderError("no such order", code="unknown_order")

    result = services.payment_check_status(payment=payment, actor=system_user, adapter=Gateway())
    assert result.status == Payment.Status.VERIFIED
    assert not result.events.filter(kind="expired").exists()


def test_telcell_payments_stay_pending_while_the_invoice_is_payable(organization, branch):
    from payments.models import ProviderAccount

    ProviderAccount.objects.create(
        organization=organization,
        provider="telcell",
        merchant_id="shop",
        secret_key="k",
        config={"valid_days": 2},
    )
    payment = make_payment(organization=organization, branch=branch, provider="telcell")
    window = payment.expires_at - payment.created_at
    assert window.total_seconds() >= 2 * 86400 - 5
    idram = make_payment(organization=organization, branch=branch, provider="idram")
    assert (idram.expires_at - idram.created_at).total_seconds() < 1300


@pytest.mark.parametrize(
    ("provider", "url", "ok"),
    [
        ("arca", "https://ipay.arca.am/payment/rest/", True),
        ("arca", "http://ipay.arca.am/payment/rest/", False),
        ("arca", "https://evil.example/payment/rest/", False),
        ("ameria", "https://services.ameriabank.am/VPOS", True),
        ("telcell", "https://127.0.0.1/invoices", False),
        ("idram", "https://user:pw@banking.idram.am/", False),
    ],
)
def test_gateway_base_urls_are_checked(settings, provider, url, ok):
    settings.DEBUG = False
    if ok:
        services.provider_account_check_base_url(provider=provider, url=url)
    else:
        with pytest.raises(DomainError) as caught:
            services.provider_account_check_base_url(provider=provider, url=url)
        assert caught.value.code == "base_url_refused"


def test_extra_gateway_hosts_come_from_settings(settings):
    settings.PAYOPS_GATEWAY_HOSTS = {"arca": ["epay.mybank.am"]}
    services.provider_account_check_base_url(provider="arca", url="https://epay.mybank.am/rest/")
