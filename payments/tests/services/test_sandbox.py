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
