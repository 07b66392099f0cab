"""sandbox_pay in process."""

from __future__ import annotations

import pytest

from core.errors import DomainError
from payments import services
from payments.models import Payment
from payments.tests.factories import make_payment


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


def test_a_deposited_sandbox_payment_is_what_the_gateway_says(
    organization, branch, system_user, changes
):
    """The demo's payments: paid at ``at`` at the sandbox gateway without the HTTP round trip;
    the gateway's own lookup then says the same (order, amount, reference), so the janitor or a
    report never disagree with them. A second call records no second order."""
    import datetime as dt

    from payments.models import SandboxOrder
    from payments.providers.base import ProviderState
    from payments.providers.registry import sandbox_adapter
    from payments.sandbox import TEST_CARD_PAN, gateway_client

    payment = make_payment(organization=organization, branch=branch, amount="1500.50")
    at = dt.datetime(2026, 11, 3, 14, 7, tzinfo=organization.tz)
    payment = services.sandbox_payment_deposited(payment=payment, at=at, actor=system_user)
    order = SandboxOrder.objects.get()
    assert (payment.status, payment.verified_at) == (Payment.Status.VERIFIED, at)
    assert payment.provider_reference == str(order.order_id)
    assert payment.verification_method == Payment.VerificationMethod.CALLBACK_LOOKUP
    assert (payment.masked_pan, payment.rrn) == (TEST_CARD_PAN, order.rrn)
    assert [c.kind for c in changes] == ["verified"]
    with gateway_client() as client:
        answer = sandbox_adapter(http=client).status(
            provider_reference=payment.provider_reference, order_number=""
        )
    assert answer.state is ProviderState.PAID
    assert (answer.order_number, answer.amount, answer.currency) == (
        payment.order_number,
        payment.amount,
        "AMD",
    )
    services.sandbox_payment_deposited(payment=payment, at=at, actor=system_user)
    assert SandboxOrder.objects.count() == 1
    other = make_payment(
        organization=organization, branch=branch, amount="10.00", provider=Payment.Provider.IDRAM
    )
    with pytest.raises(DomainError) as caught:
        services.sandbox_payment_deposited(payment=other, at=at, actor=system_user)
    assert caught.value.code == "not_a_sandbox_payment"
