"""Issue 9 #1 and #9 across apps: a sandbox QR payment whose amount the gateway's integer cannot
carry (``bigint out of range`` in ``register.do`` before) is a 400 naming ``amount``, never a
500 and never a stored pending payment; the payments list stays readable."""

from __future__ import annotations

import pytest

from payments.models import Payment
from payouts import services as payouts


@pytest.fixture
def qr(organization, branch, system_user):
    recipient = payouts.recipient_create(
        organization=organization,
        scope="employee",
        name="Anna Waiter",
        branch=branch,
        external_ref="W-1",
        actor=system_user,
    )
    return payouts.qr_code_create(recipient=recipient, actor=system_user)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("amount", ["999999999999999999.99", "10000000000.00"])
def test_a_sandbox_payment_beyond_the_bound_is_400(api, qr, amount):
    body = {"qr_code": qr.code, "amount": amount, "currency": "AMD", "outcome": "approved"}
    response = api.post("/api/v1/sandbox/qr-payments/", body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "amount" in error["fields"]
    assert not Payment.objects.exists()
    assert api.get("/api/v1/payments/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_the_bound_itself_goes_through_the_sandbox(api, qr):
    body = {"qr_code": qr.code, "amount": "9999999999.99", "currency": "AMD", "outcome": "approved"}
    response = api.post("/api/v1/sandbox/qr-payments/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "verified"
